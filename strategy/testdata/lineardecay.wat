;; lineardecay: a hand-written learning-rate schedule, 0.1 * (1 - t/total),
;; that returns an out-of-range rate (-1) from step 1000 on, to test that
;; the host refuses it.
;; Build: wat2wasm lineardecay.wat -o lineardecay.wasm
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "lr_init") (param $total i32))
  (func (export "lr_step") (param $t i32) (param $total i32) (param $loss f64) (result f64)
    (if (i32.ge_u (local.get $t) (i32.const 1000))
      (then (return (f64.const -1))))
    (f64.mul (f64.const 0.1)
      (f64.sub (f64.const 1)
        (f64.div (f64.convert_i32_u (local.get $t)) (f64.convert_i32_u (local.get $total)))))))
