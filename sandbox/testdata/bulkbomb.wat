;; bulkbomb: opt_step copies 64 KiB over and over; each copy is one instruction.
(module
  (memory (export "memory") 2 2)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)
    (loop $again
      (memory.copy (i32.const 65536) (i32.const 0) (i32.const 65536))
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536))
      (br $again))))
