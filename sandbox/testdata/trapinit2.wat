;; trapinit2: an ABI v2 optimizer whose opt_init2 traps.
;; Build: wat2wasm trapinit2.wat -o trapinit2.wasm
(module
  (memory (export "memory") 1 16)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (block $fits
      (loop $grow
        (br_if $fits (i32.le_u (global.get $heap) (i32.shl (memory.size) (i32.const 16))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $grow)))
    (local.get $p))
  (func (export "opt_init2") (param i32 i32 i32 i32) unreachable)
  ;; opt_step: plain SGD, params[i] -= grads[i] / 8 (exact in binary).
  (func (export "opt_step") (param $t i32) (param $p i32) (param $g i32) (param $n i32) (param $loss f64)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (f64.store (local.get $p)
          (f64.sub (f64.load (local.get $p)) (f64.mul (f64.load (local.get $g)) (f64.const 0.125))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $g (i32.add (local.get $g) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
