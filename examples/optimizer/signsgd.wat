;; signsgd: sign-SGD as a hand-written Arena optimizer (ABI v1).
;; Each step moves every parameter by a fixed amount against the sign of its
;; gradient, with a step size that decays as 0.05 / sqrt(t + 1).
;; Build: wat2wasm signsgd.wat -o signsgd.wasm
(module
  (memory (export "memory") 1 256)

  ;; Bump allocator: blocks are 8-aligned and never freed (one task, one instance).
  (global $heap (mut i32) (i32.const 1024))

  (func (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap
      (i32.add (local.get $p)
               (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    ;; Grow memory until the new heap top fits.
    (block $fits
      (loop $grow
        (br_if $fits (i32.le_u (global.get $heap)
                               (i32.shl (memory.size) (i32.const 16))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
          (then unreachable))
        (br $grow)))
    (local.get $p))

  (func (export "opt_init") (param $n i32))

  (func (export "opt_step")
        (param $t i32) (param $params i32) (param $grads i32) (param $n i32) (param $loss f64)
    (local $i i32) (local $lr f64) (local $g f64) (local $p i32)
    (local.set $lr
      (f64.div (f64.const 0.05)
               (f64.sqrt (f64.convert_i32_u (i32.add (local.get $t) (i32.const 1))))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $g (f64.load (i32.add (local.get $grads) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $p (i32.add (local.get $params) (i32.shl (local.get $i) (i32.const 3))))
        (if (f64.ne (local.get $g) (f64.const 0))
          (then
            (f64.store (local.get $p)
              (f64.sub (f64.load (local.get $p))
                       (f64.copysign (local.get $lr) (local.get $g))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
