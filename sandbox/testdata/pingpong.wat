;; pingpong: two functions recurse into each other, each spinning a short loop first.
(module
  (memory (export "memory") 1 16)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func $ping (param $n i32)
    (local $i i32)
    (loop $spin (br_if $spin (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
    (call $pong (i32.add (local.get $n) (i32.const 1))))
  (func $pong (param $n i32) (call $ping (local.get $n)))
  (func (export "opt_step") (param i32 i32 i32 i32 f64) (call $ping (i32.const 0))))
