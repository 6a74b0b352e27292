;; overcap: an activation codec whose ac_encode claims one byte more than
;; the room it was given.
(module
  (memory (export "memory") 4 16)
  (global $next (mut i32) (i32.const 1024))
  (func (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "ac_encode") (param i32 i32 i32 i32 i32 i32 i32) (param $cap i32) (result i32)
    (i32.add (local.get $cap) (i32.const 1)))
  (func (export "ac_decode") (param i32 i32 i32 i32 i32 i32 i32 i32)))
