;; direction: a hand-written activation codec of ABI v2 that checks the
;; host passes the direction. ac_encode sends the direction as the
;; message's first byte, then the tensor; ac_decode traps unless the
;; direction it is given is the one in the message, then copies the
;; tensor out.
;; Build: wat2wasm direction.wat -o direction.wasm
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

  ;; ac_encode(direction, dtype, rows, cols, in, n, out, capacity) -> n+1
  (func (export "ac_encode") (param $dir i32) (param i32 i32 i32) (param $in i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (i32.store8 (local.get $out) (local.get $dir))
    (memory.copy (i32.add (local.get $out) (i32.const 1)) (local.get $in) (local.get $n))
    (i32.add (local.get $n) (i32.const 1)))

  ;; ac_decode(direction, dtype, rows, cols, msg, len, out, n)
  (func (export "ac_decode") (param $dir i32) (param i32 i32 i32) (param $msg i32) (param $len i32) (param $out i32) (param $n i32)
    (if (i32.ne (i32.load8_u (local.get $msg)) (local.get $dir)) (then unreachable))
    (memory.copy (local.get $out) (i32.add (local.get $msg) (i32.const 1)) (local.get $n))))
