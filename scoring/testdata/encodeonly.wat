;; encodeonly: an activation codec of ABI v2 with ac_encode and no
;; decoder at all, which validation must reject, naming the missing pair.
(module
  (memory (export "memory") 1 1)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ac_encode") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0)))
