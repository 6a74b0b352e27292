;; adam: Adam (lr 0.01, β1 0.9, β2 0.999, ε 1e-8, bias-corrected) as a
;; hand-written optimizer of ABI v1, with the arithmetic of baseline.Adam
;; (examples/optimizer/adam) in the same order, so the two give the same
;; bits. Go's compiler emits several times the instructions per parameter;
;; python/bench.py runs both to show what the bridge costs around a module
;; written for speed. The state lives in blocks it allocates in opt_init.
;; Build: wat2wasm adam.wat -o adam.wasm
(module
  (memory (export "memory") 1 1024)
  (global $heap (mut i32) (i32.const 1024))
  (global $m (mut i32) (i32.const 0))
  (global $v (mut i32) (i32.const 0))
  (global $b1t (mut f64) (f64.const 1))
  (global $b2t (mut f64) (f64.const 1))

  (func $alloc (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (block $fits
      (loop $grow
        (br_if $fits (i32.le_u (global.get $heap) (i32.shl (memory.size) (i32.const 16))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $grow)))
    (local.get $p))

  ;; Fresh pages are zero and the allocator never reuses a block, so the
  ;; moments start at 0.
  (func (export "opt_init") (param $n i32)
    (global.set $m (call $alloc (i32.shl (local.get $n) (i32.const 3))))
    (global.set $v (call $alloc (i32.shl (local.get $n) (i32.const 3)))))

  (func (export "opt_step") (param $t i32) (param $p i32) (param $g i32) (param $n i32) (param $loss f64)
    (local $i i32) (local $off i32)
    (local $c1 f64) (local $c2 f64) (local $a1 f64) (local $a2 f64)
    (local $gi f64) (local $mi f64) (local $vi f64)
    (global.set $b1t (f64.mul (global.get $b1t) (f64.const 0.9)))
    (global.set $b2t (f64.mul (global.get $b2t) (f64.const 0.999)))
    (local.set $c1 (f64.sub (f64.const 1) (global.get $b1t)))
    (local.set $c2 (f64.sub (f64.const 1) (global.get $b2t)))
    ;; 1-β, rounded as Go rounds it at run time.
    (local.set $a1 (f64.sub (f64.const 1) (f64.const 0.9)))
    (local.set $a2 (f64.sub (f64.const 1) (f64.const 0.999)))
    ;; A counted loop (docs/sandbox.md): it pays for all its passes on entry.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $off (i32.shl (local.get $i) (i32.const 3)))
        (local.set $gi (f64.load (i32.add (local.get $g) (local.get $off))))
        ;; m = β1·m + (1-β1)·g
        (local.set $mi (f64.add
          (f64.mul (f64.const 0.9) (f64.load (i32.add (global.get $m) (local.get $off))))
          (f64.mul (local.get $a1) (local.get $gi))))
        ;; v = β2·v + ((1-β2)·g)·g
        (local.set $vi (f64.add
          (f64.mul (f64.const 0.999) (f64.load (i32.add (global.get $v) (local.get $off))))
          (f64.mul (f64.mul (local.get $a2) (local.get $gi)) (local.get $gi))))
        (f64.store (i32.add (global.get $m) (local.get $off)) (local.get $mi))
        (f64.store (i32.add (global.get $v) (local.get $off)) (local.get $vi))
        ;; p -= (lr·m/c1) / (sqrt(v/c2) + ε)
        (f64.store (i32.add (local.get $p) (local.get $off))
          (f64.sub
            (f64.load (i32.add (local.get $p) (local.get $off)))
            (f64.div
              (f64.mul (f64.const 0.01) (f64.div (local.get $mi) (local.get $c1)))
              (f64.add (f64.sqrt (f64.div (local.get $vi) (local.get $c2))) (f64.const 1e-8)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
