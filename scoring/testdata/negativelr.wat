;; negativelr: returns a negative learning rate at step 3.
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "lr_init") (param i32))
  (func (export "lr_step") (param $t i32) (param i32 f64) (result f64)
    (if (result f64) (i32.eq (local.get $t) (i32.const 3))
      (then (f64.const -0.5))
      (else (f64.const 0.01)))))
