package meter

import "fmt"

// class says what an instruction means for metering.
type class uint8

const (
	plain      class = iota
	splitAfter       // control leaves the straight line, or a branch target follows: a new segment starts after it
	loopHeader       // loop: a new, checked segment starts after it (a branch target)
	bulkBytes        // memory.copy, memory.fill, memory.init: costs grow with the byte count on top of the stack
	bulkElems        // table.copy, table.fill, table.init, table.grow: costs grow with the element count on top
	growPages        // memory.grow: costs grow with the page count on top
)

// instr is one decoded instruction.
type instr struct {
	op         byte // the first opcode byte
	class      class
	growsTable bool  // table.grow
	label      int64 // br, br_if: its label; br_table: its largest label; else -1
	global     int64 // the global index of global.get/set, else -1
	local      int64 // the local index of local.get/set/tee, else -1
}

// decode reads one instruction and its immediates. It accepts exactly the
// instruction set the sandbox's runtime does (WebAssembly 2.0: MVP, sign
// extension, non-trapping conversions, multi-value, bulk memory, reference
// types and fixed-width SIMD) and rejects anything else by name.
func decode(r *reader) instr {
	in := instr{global: -1, local: -1, label: -1}
	op := r.byte()
	in.op = op
	switch {
	case op == 0x00: // unreachable
		in.class = splitAfter
	case op == 0x01: // nop
	case op == 0x02: // block
		blockType(r)
	case op == 0x03: // loop
		blockType(r)
		in.class = loopHeader
	case op == 0x04: // if
		blockType(r)
		in.class = splitAfter
	case op == 0x05, op == 0x0B, op == 0x0F: // else, end, return
		in.class = splitAfter
	case op == 0x0C: // br
		in.label = int64(r.u32())
		in.class = splitAfter
	case op == 0x0D: // br_if: its fall-through stays in the segment, which
		// a taken branch has then paid for in full (an upper bound, and one
		// charge per loop iteration instead of two)
		in.label = int64(r.u32())
	case op == 0x0E: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			in.label = max(in.label, int64(r.u32()))
		}
		in.class = splitAfter
	case op == 0x10: // call
		r.u32()
		in.class = splitAfter
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
		in.class = splitAfter
	case op == 0x1A, op == 0x1B: // drop, select
	case op == 0x1C: // select t*
		n := r.u32()
		r.bytes(int(n))
	case op >= 0x20 && op <= 0x22: // local.get, local.set, local.tee
		in.local = int64(r.u32())
	case op == 0x23, op == 0x24: // global.get, global.set
		in.global = int64(r.u32())
	case op == 0x25, op == 0x26: // table.get, table.set
		r.u32()
	case op >= 0x28 && op <= 0x3E: // loads and stores
		memarg(r)
	case op == 0x3F: // memory.size
		r.u32()
	case op == 0x40: // memory.grow
		r.u32()
		in.class = growPages
	case op == 0x41: // i32.const
		r.sleb(32)
	case op == 0x42: // i64.const
		r.sleb(64)
	case op == 0x43: // f32.const
		r.bytes(4)
	case op == 0x44: // f64.const
		r.bytes(8)
	case op >= 0x45 && op <= 0xC4: // numeric, including sign extension
	case op == 0xD0: // ref.null t
		r.byte()
	case op == 0xD1: // ref.is_null
	case op == 0xD2: // ref.func
		r.u32()
	case op == 0xFC:
		in.class, in.growsTable = decodeFC(r)
	case op == 0xFD:
		decodeSIMD(r)
	case r.err == nil:
		r.fail(fmt.Errorf("unsupported instruction %#02x at offset %d (%s)", op, r.off-1, opName(op)))
	}
	return in
}

func opName(op byte) string {
	switch op {
	case 0x06, 0x07, 0x08, 0x09, 0x0A, 0x18, 0x19, 0x1F:
		return "exception handling"
	case 0x12, 0x13:
		return "tail calls"
	case 0xFE:
		return "threads and atomics"
	}
	return "unknown opcode"
}

func blockType(r *reader) {
	c := r.byte()
	if c == 0x40 || (c >= 0x6F && c <= 0x7F) {
		return // empty or one value type
	}
	r.off-- // a signed 33-bit type index
	r.sleb(33)
}

func memarg(r *reader) {
	align := r.u32()
	if align&0x40 != 0 {
		r.fail(fmt.Errorf("multiple memories are not supported (offset %d)", r.off))
	}
	r.u32() // offset
}

// fcOps lists the 0xFC instructions: how many u32 immediates each takes
// and how it is metered.
var fcOps = [...]struct {
	immediates int
	class      class
}{
	0: {0, plain}, 1: {0, plain}, 2: {0, plain}, 3: {0, plain}, // non-trapping float-to-int
	4: {0, plain}, 5: {0, plain}, 6: {0, plain}, 7: {0, plain},
	8:  {2, bulkBytes}, // memory.init data mem
	9:  {1, plain},     // data.drop
	10: {2, bulkBytes}, // memory.copy dst src
	11: {1, bulkBytes}, // memory.fill
	12: {2, bulkElems}, // table.init elem table
	13: {1, plain},     // elem.drop
	14: {2, bulkElems}, // table.copy dst src
	15: {1, bulkElems}, // table.grow
	16: {1, plain},     // table.size
	17: {1, bulkElems}, // table.fill
}

func decodeFC(r *reader) (class, bool) {
	sub := r.u32()
	if int(sub) >= len(fcOps) {
		r.fail(fmt.Errorf("unsupported instruction 0xfc %d at offset %d", sub, r.off))
		return plain, false
	}
	for range fcOps[sub].immediates {
		r.u32()
	}
	return fcOps[sub].class, sub == 15
}

func decodeSIMD(r *reader) {
	sub := r.u32()
	switch {
	case sub <= 0x0B, sub == 0x5C, sub == 0x5D: // v128 loads and stores
		memarg(r)
	case sub == 0x0C, sub == 0x0D: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 0x15 && sub <= 0x22: // extract_lane, replace_lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5B: // load_lane, store_lane
		memarg(r)
		r.byte()
	case sub <= 0xFF: // every other SIMD instruction has no immediates
	default:
		r.fail(fmt.Errorf("unsupported instruction 0xfd %d at offset %d (relaxed SIMD)", sub, r.off))
	}
}
