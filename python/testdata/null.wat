;; null: an optimizer of ABI v1 whose step does nothing, for python/bench.py:
;; a step through the bridge with it costs the copies alone.
;; Build: wat2wasm null.wat -o null.wasm
(module
  (memory (export "memory") 1 1024)
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
  (func (export "opt_init") (param $n i32))
  (func (export "opt_step") (param $t i32) (param $p i32) (param $g i32) (param $n i32) (param $loss f64)))
