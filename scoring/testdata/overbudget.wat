;; overbudget: a gradient compressor whose message is one byte over budget.
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "gc_init") (param i32 i32 i32 i32))
  (func (export "gc_compress") (param i32 i32 i32 i32) (param $budget i32) (result i32)
    (i32.add (local.get $budget) (i32.const 1)))
  (func (export "gc_decompress") (param i32 i32 i32 i32 i32 i32)))
