;; trapstart: the start function traps, during instantiation.
(module
  (memory (export "memory") 1 16)
  (func $boom unreachable)
  (start $boom)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
