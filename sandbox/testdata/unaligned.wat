;; unaligned: arena_alloc returns an odd address.
(module
  (memory (export "memory") 1 16)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1027))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
