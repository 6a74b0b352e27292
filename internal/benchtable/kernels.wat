;; kernels: the loops the sandbox benchmark times (internal/benchtable),
;; written to match the native Go versions in main.go statement for statement.
(module
  (memory (export "memory") 400 400)

  ;; update(p, g, v, n): heavy-ball momentum over n float64 parameters.
  (func (export "update") (param $p i32) (param $g i32) (param $v i32) (param $n i32)
    (local $i i32) (local $off i32) (local $vi f64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $off (i32.shl (local.get $i) (i32.const 3)))
        (local.set $vi
          (f64.add (f64.mul (f64.const 0.9) (f64.load (i32.add (local.get $v) (local.get $off))))
                   (f64.load (i32.add (local.get $g) (local.get $off)))))
        (f64.store (i32.add (local.get $v) (local.get $off)) (local.get $vi))
        (f64.store (i32.add (local.get $p) (local.get $off))
          (f64.sub (f64.load (i32.add (local.get $p) (local.get $off)))
                   (f64.mul (f64.const 0.01) (local.get $vi))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; matmul(a, b, c, n): c = a × b for n×n float64 matrices, row-major.
  (func (export "matmul") (param $a i32) (param $b i32) (param $c i32) (param $n i32)
    (local $i i32) (local $j i32) (local $k i32) (local $sum f64)
    (block $idone (loop $iloop
      (br_if $idone (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $sum (f64.const 0))
        (local.set $k (i32.const 0))
        (block $kdone (loop $kloop
          (br_if $kdone (i32.ge_u (local.get $k) (local.get $n)))
          (local.set $sum (f64.add (local.get $sum)
            (f64.mul
              (f64.load (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k)) (i32.const 3))))
              (f64.load (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $kloop)))
        (f64.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))) (local.get $sum))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $iloop))))

  ;; compress(src, dst, n) -> checksum: byte-wise delta coding with a
  ;; running Adler-style checksum, the inner loop of a simple coder.
  (func (export "compress") (param $src i32) (param $dst i32) (param $n i32) (result i32)
    (local $i i32) (local $prev i32) (local $cur i32) (local $a i32) (local $b i32)
    (local.set $a (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $cur (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (i32.store8 (i32.add (local.get $dst) (local.get $i)) (i32.sub (local.get $cur) (local.get $prev)))
        (local.set $prev (local.get $cur))
        (local.set $a (i32.rem_u (i32.add (local.get $a) (local.get $cur)) (i32.const 65521)))
        (local.set $b (i32.rem_u (i32.add (local.get $b) (local.get $a)) (i32.const 65521)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.or (i32.shl (local.get $b) (i32.const 16)) (local.get $a)))
)
