;; toolarge: a constant learning rate of 1.0, far above what the workloads
;; tolerate with momentum 0.9.
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "lr_init") (param i32))
  (func (export "lr_step") (param i32 i32 f64) (result f64) (f64.const 1.0)))
