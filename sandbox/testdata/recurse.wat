;; recurse: opt_step calls itself forever, with no loop anywhere.
(module
  (memory (export "memory") 1 16)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func $step (export "opt_step") (param i32 i32 i32 i32 f64)
    (call $step (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))))
