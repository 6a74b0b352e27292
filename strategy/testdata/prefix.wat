;; prefix: a hand-written gradient compressor that sends the first
;; budget/8 gradient values as they are and lets the aggregator zero the
;; rest.
;; Build: wat2wasm prefix.wat -o prefix.wasm
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

  (func (export "gc_init") (param $worker i32) (param $workers i32) (param $n i32) (param $budget i32))

  ;; gc_compress(t, grad, n, out, budget) -> bytes: min(n, budget/8) values.
  (func (export "gc_compress") (param $t i32) (param $grad i32) (param $n i32) (param $out i32) (param $budget i32) (result i32)
    (local $k i32)
    (local.set $k (i32.shr_u (local.get $budget) (i32.const 3)))
    (if (i32.gt_u (local.get $k) (local.get $n)) (then (local.set $k (local.get $n))))
    (memory.copy (local.get $out) (local.get $grad) (i32.shl (local.get $k) (i32.const 3)))
    (i32.shl (local.get $k) (i32.const 3)))

  ;; gc_decompress(worker, t, msg, len, out, n): the values sent, then zeros.
  (func (export "gc_decompress") (param $worker i32) (param $t i32) (param $msg i32) (param $len i32) (param $out i32) (param $n i32)
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $n) (i32.const 3)))
    (memory.copy (local.get $out) (local.get $msg) (local.get $len))))
