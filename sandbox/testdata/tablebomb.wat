;; tablebomb: a table with no maximum, grown without end.
(module
  (memory (export "memory") 1 16)
  (table $t 1 funcref)
  (func (export "arena_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "opt_init") (param i32))
  (func (export "opt_step") (param i32 i32 i32 i32 f64)
    (loop $grow (drop (table.grow $t (ref.null func) (i32.const 1000000))) (br $grow))))
