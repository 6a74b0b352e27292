;; loops: every shape of counted loop the meter charges on entry (see
;; meter/counted.go), and near misses it must check at every pass. Each
;; function takes the induction variable's start $i and the bound $n and
;; returns a checksum of what its passes saw, so a test can run it metered
;; both ways and compare results and fuel (meter/counted_test.go).
(module
  (memory (export "memory") 1 1)

  ;; top-tested, unsigned: while i < n
  (func (export "top_ge_u") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.xor (local.get $acc) (local.get $i)))

  ;; top-tested, signed, exiting two blocks out
  (func (export "top_ge_s") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (block $inner
        (loop $next
          (br_if $out (i32.ge_s (local.get $i) (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 3)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next))))
    (i32.xor (local.get $acc) (local.get $i)))

  ;; top-tested against a constant bound
  (func (export "top_const") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_s (local.get $i) (i32.const 1000)))
        (local.set $acc (i32.xor (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.add (local.get $acc) (local.get $n)))

  ;; top-tested equality, stepping by 4 (a pointer over i32s): endless
  ;; unless 4 divides n - i
  (func (export "top_eq_4") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.eq (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (local.get $acc))

  ;; top-tested equality, stepping down by 8
  (func (export "top_eq_down_8") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.eq (local.get $i) (local.get $n)))
        (local.set $acc (i32.sub (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const -8)))
        (br $next)))
    (local.get $acc))

  ;; bottom-tested, unsigned: do ... while ++i < n
  (func (export "bottom_lt_u") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)) (local.get $i)))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.xor (local.get $acc) (local.get $i)))

  ;; bottom-tested, signed
  (func (export "bottom_lt_s") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (i32.const 5)))
      (br_if $next (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.xor (local.get $acc) (local.get $i)))

  ;; bottom-tested inequality, the shape LLVM emits
  (func (export "bottom_ne") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
      (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $acc))

  ;; bottom-tested inequality stepping by 8 over memory, against a constant
  (func (export "bottom_ne_8") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (i32.load (i32.and (local.get $i) (i32.const 0xfff8)))))
      (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 8))) (i32.const 256))))
    (i32.add (local.get $acc) (local.get $n)))

  ;; bottom-tested count down to zero, no compare
  (func (export "bottom_countdown") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (br_if $next (local.tee $i (i32.add (local.get $i) (i32.const -1)))))
    (local.get $acc))

  ;; a counted loop whose body reads memory at i: out of bounds past 16384
  (func (export "scan") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  ;; near misses, checked at every pass

  ;; a body with branches of its own, within itself: its later segments
  ;; would pay unchecked, so the loop cannot pay for a pass on entry
  (func (export "top_if") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.and (local.get $i) (i32.const 1))
          (then (local.set $acc (i32.add (local.get $acc) (local.get $i))))
          (else (local.set $acc (i32.sub (local.get $acc) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  (func (export "bottom_block") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (block $skip
        (br_if $skip (i32.eqz (i32.rem_u (local.get $i) (i32.const 3))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 2)))
        (br_table $skip $skip (local.get $acc)))
      (local.set $acc (i32.xor (local.get $acc) (local.get $i)))
      (br_if $next (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $acc))

  ;; the body moves the bound
  (func (export "moves_bound") (param $i i32) (param $n i32) (result i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; the body moves the induction variable too
  (func (export "moves_i") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.and (local.get $acc) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  ;; a second way out
  (func (export "early_exit") (param $i i32) (param $n i32) (result i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (br_if $out (i32.eq (local.get $i) (i32.const 77)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; an ordered test with a step other than 1 could wrap past the bound
  (func (export "step_3") (param $i i32) (param $n i32) (result i32)
    (loop $next
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 3))) (local.get $n))))
    (local.get $i))

  ;; a step that is not a power of two
  (func (export "eq_step_6") (param $i i32) (param $n i32) (result i32)
    (loop $next
      (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 6))) (local.get $n))))
    (local.get $i))

  ;; the test reads a different variable from the one stepped
  (func (export "other_var") (param $i i32) (param $n i32) (result i32)
    (local $j i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; a loop with a nested loop: only the inner one is counted
  (func (export "nested") (param $i i32) (param $n i32) (result i32)
    (local $j i32) (local $acc i32)
    (block $out
      (loop $rows
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.ge_u (local.get $j) (local.get $i)))
            (local.set $acc (i32.add (local.get $acc) (local.get $j)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $acc))

  ;; a pass that skips the step from inside a block
  (func (export "continues") (param $i i32) (param $n i32) (result i32)
    (local $k i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (block $b
          (br_if $next (i32.eq (i32.and (local.get $k) (i32.const 3)) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $k))

  ;; a way out from inside a block
  (func (export "escapes") (param $i i32) (param $n i32) (result i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (block $b
          (br_if $out (i32.eq (local.get $i) (i32.const 500))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; a return from the body
  (func (export "returns") (param $i i32) (param $n i32) (result i32)
    (loop $next
      (if (i32.eq (local.get $i) (i32.const 300)) (then (return (i32.const -1))))
      (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $i))

  ;; a call from the body
  (func (export "calls") (param $i i32) (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (call $twice (local.get $acc)))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $acc))
  (func $twice (param i32) (result i32) (i32.add (i32.const 1) (i32.shl (local.get 0) (i32.const 1))))
)
