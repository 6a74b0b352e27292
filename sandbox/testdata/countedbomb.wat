;; countedbomb: a valid optimizer whose opt_step runs a counted loop (see
;; meter/counted.go) that wraps all the way round, 2^32 passes: the meter
;; charges them all on entry, so it fails on fuel before its first pass.
(module
  (memory (export "memory") 1 16)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param $t i32) (param $p i32) (param $g i32) (param $n i32) (param f64)
    (local $i i32)
    (loop $next
      (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.const 1)))
      (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 0))))))
