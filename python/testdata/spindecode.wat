;; spindecode: an activation codec of ABI v2 whose ac_encode copies the
;; tensor and whose ac_decode never returns, for the hostile test of an
;; activation stage: the decoding stage must fail on fuel, and stay
;; failed for its encoding too, as both are one instance.
;; Build: wat2wasm spindecode.wat -o spindecode.wasm
(module
  (memory (export "memory") 1 64)
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
  (func (export "ac_encode") (param i32 i32 i32 i32) (param $in i32) (param $n i32) (param $out i32) (param i32) (result i32)
    (memory.copy (local.get $out) (local.get $in) (local.get $n))
    (local.get $n))
  (func (export "ac_decode") (param i32 i32 i32 i32 i32 i32 i32 i32)
    (loop $spin (br $spin))))
