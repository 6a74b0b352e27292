;; atomics: uses the threads proposal, which Arena does not support.
(module
  (memory (export "memory") 1 16 shared)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))
