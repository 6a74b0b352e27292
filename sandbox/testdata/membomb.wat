;; membomb: opt_step grows memory a page at a time until refused, then spins.
(module
  (memory (export "memory") 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (loop $spin (br $spin))))
