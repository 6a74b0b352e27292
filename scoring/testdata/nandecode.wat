;; nandecode: an activation codec that sends nothing and decodes every
;; tensor as 0xff bytes, NaN in bfloat16 and float32 alike: the spot check
;; must fail the task, not the host.
(module
  (memory (export "memory") 4 16)
  (global $next (mut i32) (i32.const 1024))
  (func (export "arena_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "ac_encode") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "ac_decode") (param i32 i32 i32 i32 i32 i32) (param $out i32) (param $size i32)
    (memory.fill (local.get $out) (i32.const 255) (local.get $size))))
