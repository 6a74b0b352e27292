;; spincall: an optimizer whose opt_step loops forever, calling a small
;; function each time round, as compiled code does.
(module
  (memory (export "memory") 1 16)
  (global $n (mut i32) (i32.const 0))
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func $tick (global.set $n (i32.add (global.get $n) (i32.const 1))))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)
    (loop $forever (call $tick) (br $forever))))
