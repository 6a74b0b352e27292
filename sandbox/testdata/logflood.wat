;; logflood: every opt_step writes 64 KiB to stdout through fd_write, then
;; does nothing: the log must stay bounded and the module still scores.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2 2)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 70000))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)
    (memory.fill (i32.const 0) (i32.const 65) (i32.const 65536))
    ;; one iovec at 65536: {buf 0, len 65536}
    (i32.store (i32.const 65536) (i32.const 0))
    (i32.store (i32.const 65540) (i32.const 65536))
    (drop (call $fd_write (i32.const 1) (i32.const 65536) (i32.const 1) (i32.const 65544)))))
