;; trapalloc: arena_alloc traps.
(module
  (memory (export "memory") 1 16)
  (func (export "arena_alloc") (param i32) (result i32) unreachable)
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
