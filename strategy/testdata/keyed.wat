;; keyed: a hand-written activation codec of ABI v2 whose backward pass
;; reuses state its instance kept from the forward pass, as a codec that
;; fits a basis on the activations and codes their gradients with it
;; would. Lossless, so any layout decodes correctly; only the messages
;; tell the layouts apart.
;;
;; Forward, ac_encode picks a new key (the instance's count of forward
;; encodes times 157, low byte, odd so never 0), keeps it, and sends it
;; as the message's first byte followed by the tensor XOR the key;
;; ac_decode keeps the key it reads and XORs the rest back. Backward,
;; both sides use the key their instance kept, and the message is the
;; bare tensor XOR that key. When one instance per stage holds both
;; directions (the benchmark's layout), stage B's backward encoder and
;; stage A's backward decoder hold the forward key; in a layout of a
;; separate instance per direction and side, the backward instances
;; never saw a forward tensor, their key is 0, and the backward messages
;; are the raw gradient.
;; Build: wat2wasm keyed.wat -o keyed.wasm
(module
  (memory (export "memory") 1 64)
  (global $heap (mut i32) (i32.const 1024))
  (global $key (mut i32) (i32.const 0))
  (global $sent (mut i32) (i32.const 0))

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

  ;; xor writes n bytes of src XOR the key to dst.
  (func $xor (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i))
          (i32.xor (i32.load8_u (i32.add (local.get $src) (local.get $i))) (global.get $key)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; ac_encode(direction, dtype, rows, cols, in, n, out, capacity) -> length
  (func (export "ac_encode") (param $dir i32) (param i32 i32 i32) (param $in i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.eqz (local.get $dir))
      (then
        (global.set $sent (i32.add (global.get $sent) (i32.const 1)))
        (global.set $key (i32.or (i32.and (i32.mul (global.get $sent) (i32.const 157)) (i32.const 255)) (i32.const 1)))
        (i32.store8 (local.get $out) (global.get $key))
        (call $xor (i32.add (local.get $out) (i32.const 1)) (local.get $in) (local.get $n))
        (return (i32.add (local.get $n) (i32.const 1)))))
    (call $xor (local.get $out) (local.get $in) (local.get $n))
    (local.get $n))

  ;; ac_decode(direction, dtype, rows, cols, msg, len, out, n)
  (func (export "ac_decode") (param $dir i32) (param i32 i32 i32) (param $msg i32) (param $len i32) (param $out i32) (param $n i32)
    (if (i32.eqz (local.get $dir))
      (then
        (global.set $key (i32.load8_u (local.get $msg)))
        (call $xor (local.get $out) (i32.add (local.get $msg) (i32.const 1)) (local.get $n))
        (return)))
    (call $xor (local.get $out) (local.get $msg) (local.get $n))))
