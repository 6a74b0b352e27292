;; reserved: exports a name Arena's metering reserves.
(module
  (memory (export "memory") 1 16)
  (global (export "arena_fuel") (mut i64) (i64.const 0))
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
