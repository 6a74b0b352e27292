;; trapinitialize: _initialize (a reactor's start-up) reads far out of bounds.
(module
  (memory (export "memory") 1 16)
  (func (export "_initialize") (drop (i32.load (i32.const 1000000))))
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)))
