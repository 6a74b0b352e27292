;; count: small functions whose fuel is computed by hand in meter_test.go.
(module
  (memory (export "memory") 1 4)
  (global $started (mut i32) (i32.const 0))

  ;; sum(n) = 0 + 1 + ... + (n-1). Segments: [block loop] 0 (block, loop,
  ;; end and nop are free), checked at entry; [local.get local.get i32.ge_u
  ;; br_if local.get local.get i32.add local.set local.get i32.const i32.add
  ;; local.set br] 13, checked at the loop header and paid in full by the
  ;; last test too; on exit [local.get end] 1. Fuel: 13(n+1) + 1 = 13n + 14.
  (func (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  ;; fill(n) writes n bytes. [i32.const i32.const local.get memory.fill end]
  ;; is 4, plus n/8 for the bytes. Fuel: 4 + n/8.
  (func (export "fill") (param $n i32)
    (memory.fill (i32.const 0) (i32.const 7) (local.get $n)))

  ;; grow(n) adds n pages: [local.get memory.grow end] 2, plus 8192 a page.
  (func (export "grow") (param $n i32) (result i32)
    (memory.grow (local.get $n)))

  ;; calls(n) calls $nop n times. Segments: [block loop] 0, checked at entry;
  ;; [local.get local.get i32.ge_u br_if call] 5, checked at the loop header
  ;; (where this loop, which calls, may also yield); [local.get i32.const
  ;; i32.add local.set br] 5; $nop's [end] 0, checked. On exit the header's
  ;; segment is paid in full and [end] is free. Fuel: 10n + 5, yields or not.
  (func (export "calls") (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $nop)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
  (func $nop)

  ;; recurse never returns: every call pays at entry, so fuel stops it.
  (func $recurse (export "recurse") (call $recurse))

  (func (export "started") (result i32) (global.get $started))
  (func $start (global.set $started (i32.const 1)))
  (start $start)
)
