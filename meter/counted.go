package meter

// Counted loops pay for all their iterations once, on entry, instead of
// checking the counter at every pass through their header. A check is
// only a subtraction, a compare and a branch, but in a tight loop it is
// the branch that costs: 7–14% of a matrix multiply's inner loop,
// depending on the processor, where the subtraction alone costs under 1%.
//
// A loop is counted when its number of passes follows from two i32 values
// known at entry and nothing in it can change that number or leave it
// early: its body is straight-line code (no calls, no branches, no nested
// blocks, no bulk operations: one segment, so the charge on entry covers
// every instruction it runs), it neither writes the induction variable
// except in its step nor writes the bound, and it has exactly one way
// out. Two shapes qualify, the ones compilers and people write:
//
//	top-tested (while):      loop
//	                           local.get $i  (local.get $n | i32.const N)
//	                           i32.ge_u | i32.ge_s | i32.eq
//	                           br_if $out                 ;; any label outside
//	                           ...body...
//	                           local.get $i  i32.const S  i32.add  local.set $i
//	                           br 0
//	                         end
//
//	bottom-tested (do-while): loop
//	                           ...body...
//	                           local.get $i  i32.const S  i32.add  local.tee $i
//	                           [(local.get $n | i32.const N)  i32.lt_u | i32.lt_s | i32.ne]
//	                           br_if 0                    ;; without a compare: i != 0
//	                         end
//
// The ordered comparisons need a step of 1; the equality tests take any
// step ±2^k, and when the distance is not a multiple of the step the loop
// would never end, so it is charged everything at once. Such a loop pays
// passes × the header segment's cost, which is exactly what checking at
// every pass would have subtracted by the time it leaves. What changes is
// only where a budget that cannot cover the loop runs out: on entry,
// before the first pass, rather than at the pass that would overspend it.
// That is decided by the same inputs, so it is just as deterministic, and
// it is never later: a trap inside the body can only come from a pass the
// loop has already paid for.

// countedLoop is what the rewrite needs to charge a counted loop on entry.
type countedLoop struct {
	bottom bool  // bottom-tested: the test follows the body and the step
	cmp    byte  // the test's opcode: top ge_u, ge_s, eq; bottom lt_u, lt_s, ne
	i      int64 // the induction variable's local
	n      int64 // the bound's local, or -1 for a constant
	bound  int32 // the constant bound
	step   uint32
	cost   int64 // the header segment's cost: what each pass pays
}

const (
	opEq  = 0x46
	opNe  = 0x47
	opLtS = 0x48
	opLtU = 0x49
	opGeS = 0x4E
	opGeU = 0x4F
)

// maxCountedBody bounds the instructions of a loop the pass tries to
// count. Past a few hundred instructions a pass's check is noise, and the
// bound keeps the pass linear in the code's size however loops nest. It
// also keeps a loop's charge, at most 2^32 passes of at most 512 fuel, far
// inside an i64.
const maxCountedBody = 512

// countLoop recognizes a counted loop whose loop instruction is code[at].
func countLoop(code []decoded, body []byte, at int) (countedLoop, bool) {
	none := countedLoop{}
	if body[code[at].start+1] != 0x40 { // only loops without params or results
		return none, false
	}
	end := -1 // the loop's own end
	for k, depth := at+1, 0; k < len(code) && k <= at+maxCountedBody && end < 0; k++ {
		switch code[k].op {
		case 0x02, 0x03, 0x04: // block, loop, if
			depth++
		case 0x0B:
			if depth == 0 {
				end = k
			}
			depth--
		}
	}
	is := func(k int, op byte) bool { return k > at && k < end && code[k].op == op }
	var l countedLoop
	var first, last, stepAt, setAt int // the body is code[first:last]
	switch {
	case is(end-1, 0x0D) && code[end-1].label == 0:
		// bottom-tested: ...; local.get i; i32.const S; i32.add; local.tee i; [bound; cmp]; br_if 0; end
		l.bottom = true
		setAt, l.cmp, l.n = end-2, opNe, -1
		if !is(setAt, 0x22) {
			l.cmp = code[end-2].op
			if l.cmp != opLtU && l.cmp != opLtS && l.cmp != opNe || !l.readBound(code, body, end-3, is) {
				return none, false
			}
			setAt = end - 4
		}
		stepAt, first = setAt-3, at+1
	case is(end-1, 0x0C) && code[end-1].label == 0:
		// top-tested: local.get i; bound; cmp; br_if out; ...; local.get i; i32.const S; i32.add; local.set i; br 0; end
		if !is(at+1, 0x20) || !is(at+4, 0x0D) || code[at+4].label < 1 {
			return none, false
		}
		l.cmp = code[at+3].op
		if l.cmp != opGeU && l.cmp != opGeS && l.cmp != opEq || !l.readBound(code, body, at+2, is) {
			return none, false
		}
		setAt, stepAt, first = end-2, end-5, at+5
		if !is(setAt, 0x21) || stepAt < first || code[at+1].local != code[setAt].local {
			return none, false // the test reads another variable than the step writes
		}
	default:
		return none, false
	}
	last = stepAt
	// The step: local.get i; i32.const S; i32.add; local.set i (local.tee
	// at the bottom).
	set := byte(0x21)
	if l.bottom {
		set = 0x22
	}
	if !is(setAt, set) || !is(stepAt, 0x20) || !is(stepAt+1, 0x41) || !is(stepAt+2, 0x6A) ||
		code[stepAt].local != code[setAt].local || code[setAt].local == l.n {
		return none, false
	}
	l.i = code[setAt].local
	l.step = uint32(i32Immediate(body, code[stepAt+1]))
	switch {
	case l.cmp == opEq || l.cmp == opNe:
		if log2(l.step) < 0 && log2(-l.step) < 0 {
			return none, false
		}
	case l.step != 1:
		return none, false
	}
	// A pass must be one segment, its header's, so that paying for the
	// header pays for everything: with an if or a block inside, the later
	// segments would subtract unchecked, and a loop that had paid only for
	// its headers could run far past its budget before anything noticed.
	// That also rules out calls, returns and nested loops. Within the
	// segment, no br_if may leave the loop or start a pass early, and
	// nothing but the step may move i or n.
	passEnd := end // just after the br 0 at the top, the end at the bottom
	if l.bottom {
		passEnd = end + 1
	}
	if segmentEnd(code, at+1) != passEnd {
		return none, false
	}
	for _, c := range code[first:last] {
		if c.label >= 0 || (c.op == 0x21 || c.op == 0x22) && (c.local == l.i || c.local == l.n) {
			return none, false
		}
	}
	l.cost = segmentCost(code[at+1 : passEnd])
	return l, true
}

// readBound reads the loop's bound from code[k]: a local, or a constant.
func (l *countedLoop) readBound(code []decoded, body []byte, k int, is func(int, byte) bool) bool {
	switch {
	case is(k, 0x20):
		l.n = code[k].local
		return true
	case is(k, 0x41):
		l.n, l.bound = -1, i32Immediate(body, code[k])
		return true
	}
	return false
}

// i32Immediate decodes the signed LEB128 operand of an i32.const.
func i32Immediate(body []byte, c decoded) int32 {
	var v int64
	var shift uint
	for _, b := range body[c.start+1 : c.end] {
		v |= int64(b&0x7F) << shift
		shift += 7
		if b&0x80 == 0 {
			if b&0x40 != 0 && shift < 64 {
				v |= -1 << shift
			}
			break
		}
	}
	return int32(v)
}

// log2 returns k when v is 2^k, else -1.
func log2(v uint32) int {
	if v == 0 || v&(v-1) != 0 {
		return -1
	}
	k := 0
	for v > 1 {
		v >>= 1
		k++
	}
	return k
}

// prepay charges a counted loop, before its loop instruction, for every
// pass through its header, and checks.
func (f fuelVars) prepay(b []byte, l countedLoop) []byte {
	i := func(b []byte) []byte { return appendULEB(append(b, 0x20), uint64(l.i)) }
	n := func(b []byte) []byte {
		if l.n >= 0 {
			return appendULEB(append(b, 0x20), uint64(l.n))
		}
		return appendSLEB(append(b, 0x41), int64(l.bound))
	}
	i64 := func(b []byte, v int64) []byte { return appendSLEB(append(b, 0x42), v) }

	b = append(b, 0x20) // local.get counter
	b = appendULEB(b, uint64(f.local))
	switch l.cmp {
	case opGeU, opGeS, opLtU, opLtS:
		// The value first tested, x: i on top, i+1 at the bottom. The loop
		// runs n-x more passes when x < n, else none; the header is reached
		// once more than the body runs at the top, as often at the bottom.
		x := i
		if l.bottom {
			x = func(b []byte) []byte { return append(i(b), 0x41, 0x01, 0x6A) } // i32.const 1, i32.add
		}
		less := byte(opLtU)
		if l.cmp == opGeS || l.cmp == opLtS {
			less = opLtS
		}
		b = append(x(n(b)), 0x6B, 0xAD) // i32.sub, i64.extend_i32_u
		b = i64(b, 0)
		b = append(n(x(b)), less, 0x1B) // x < n, select
		b = append(i64(b, 1), 0x7C)     // i64.add
	case opEq, opNe:
		// The loop ends when i has stepped d/S times, d = n - i (i - n for
		// a negative step); never when S does not divide d.
		k, down := log2(l.step), false
		if k < 0 {
			k, down = log2(-l.step), true
		}
		dist := func(b []byte) []byte {
			if down {
				return append(n(i(b)), 0x6B)
			}
			return append(i(n(b)), 0x6B)
		}
		if k > 0 {
			b = dist(b)
			b = appendSLEB(append(b, 0x41), int64(1)<<k-1) // i32.const 2^k-1
			b = append(b, 0x71, 0x04, 0x40)                // i32.and, if
			b = f.exhaust(b)
			b = append(b, 0x0B) // end
		}
		b = dist(b)
		b = appendSLEB(append(b, 0x41), int64(k))
		b = append(b, 0x76, 0xAD) // i32.shr_u, i64.extend_i32_u: d/S
		if l.bottom {
			// Passes: d/S, but a full cycle of 2^(32-k) when d/S is 0.
			b = append(i64(b, 1), 0x7D) // i64.sub
			b = append(i64(b, int64(1)<<(32-k)-1), 0x83)
		}
		b = append(i64(b, 1), 0x7C) // i64.add
	}
	b = append(i64(b, l.cost), 0x7E, 0x7D, 0x22) // i64.mul, i64.sub, local.tee counter
	b = appendULEB(b, uint64(f.local))
	return f.check(b)
}

// exhaust spends the rest of the budget and traps: the counter drops just
// below the floor, as it would after the endless loop it stands for.
func (f fuelVars) exhaust(b []byte) []byte {
	b = append(b, 0x23) // global.get floor
	b = appendULEB(b, uint64(f.global)+1)
	b = append(b, 0x42, 0x01, 0x7D, 0x21) // i64.const 1, i64.sub, local.set
	b = appendULEB(b, uint64(f.local))
	b = f.store(b)
	return append(b, 0x00) // unreachable
}
