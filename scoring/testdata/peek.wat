;; peek: a coder that sends nothing and has its decompressor copy the
;; tensor from where the host wrote it in the compressor's memory. It would
;; win outright if both ran in one instance; they do not, so it fails.
(module
  (memory (export "memory") 4 16)
  (global $next (mut i32) (i32.const 1024))
  (func (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  ;; The host's first allocation in the compressor holds the tensor.
  (func (export "ac_compress") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0))
  (func (export "ac_decompress") (param i32 i32 i32 i32 i32) (param $out i32) (param $size i32)
    (memory.copy (local.get $out) (i32.const 1024) (local.get $size))))
