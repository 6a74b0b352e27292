;; badptr: arena_alloc hands the host a pointer past the end of memory.
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 65528))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
