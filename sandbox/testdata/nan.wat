;; nan: opt_step sets every parameter to NaN.
(module
  (memory (export "memory") 1 16)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param $t i32) (param $params i32) (param $grads i32) (param $n i32) (param $loss f64)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (f64.store (i32.add (local.get $params) (i32.shl (local.get $i) (i32.const 3))) (f64.const nan))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
