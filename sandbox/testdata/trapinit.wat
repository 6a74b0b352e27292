;; trapinit: opt_init divides by zero.
(module
  (memory (export "memory") 1 16)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32) (drop (i32.div_u (local.get 0) (i32.const 0))))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
