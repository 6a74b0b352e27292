;; gcnoinit: a gradient compressor with neither gc_init nor gc_init2.
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "gc_compress") (param i32 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "gc_decompress") (param i32 i32 i32 i32 i32 i32)))
