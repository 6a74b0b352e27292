//go:build !purego

#include "textflag.h"

// expAVX2 is Exp (detmath.go) four lanes at a time, for arguments whose
// every lane has |x| ≤ 705: there k = round(x/ln2) stays within ±1017, so
// the result is normal and y·2^k needs no Ldexp. Every step is the scalar
// code's operation on each lane, in its order, each product rounded
// before it is added (VMULPD then VADDPD; no FMA), so the bits are Exp's.
// A group of four with a lane outside the range (or NaN) stops the loop;
// the caller does it with Exp and calls again past it.

DATA explimit<>+0(SB)/8, $0x4086080000000000
DATA explimit<>+8(SB)/8, $0x4086080000000000
DATA explimit<>+16(SB)/8, $0x4086080000000000
DATA explimit<>+24(SB)/8, $0x4086080000000000
GLOBL explimit<>(SB), RODATA|NOPTR, $32
DATA explog2e<>+0(SB)/8, $0x3ff71547652b82fe
DATA explog2e<>+8(SB)/8, $0x3ff71547652b82fe
DATA explog2e<>+16(SB)/8, $0x3ff71547652b82fe
DATA explog2e<>+24(SB)/8, $0x3ff71547652b82fe
GLOBL explog2e<>(SB), RODATA|NOPTR, $32
DATA exphalf<>+0(SB)/8, $0x3fe0000000000000
DATA exphalf<>+8(SB)/8, $0x3fe0000000000000
DATA exphalf<>+16(SB)/8, $0x3fe0000000000000
DATA exphalf<>+24(SB)/8, $0x3fe0000000000000
GLOBL exphalf<>(SB), RODATA|NOPTR, $32
DATA expln2hi<>+0(SB)/8, $0x3fe62e42fee00000
DATA expln2hi<>+8(SB)/8, $0x3fe62e42fee00000
DATA expln2hi<>+16(SB)/8, $0x3fe62e42fee00000
DATA expln2hi<>+24(SB)/8, $0x3fe62e42fee00000
GLOBL expln2hi<>(SB), RODATA|NOPTR, $32
DATA expln2lo<>+0(SB)/8, $0x3dea39ef35793c76
DATA expln2lo<>+8(SB)/8, $0x3dea39ef35793c76
DATA expln2lo<>+16(SB)/8, $0x3dea39ef35793c76
DATA expln2lo<>+24(SB)/8, $0x3dea39ef35793c76
GLOBL expln2lo<>(SB), RODATA|NOPTR, $32
DATA expp1<>+0(SB)/8, $0x3fc5555555555555
DATA expp1<>+8(SB)/8, $0x3fc5555555555555
DATA expp1<>+16(SB)/8, $0x3fc5555555555555
DATA expp1<>+24(SB)/8, $0x3fc5555555555555
GLOBL expp1<>(SB), RODATA|NOPTR, $32
DATA expp2<>+0(SB)/8, $0xbf66c16c16bebd93
DATA expp2<>+8(SB)/8, $0xbf66c16c16bebd93
DATA expp2<>+16(SB)/8, $0xbf66c16c16bebd93
DATA expp2<>+24(SB)/8, $0xbf66c16c16bebd93
GLOBL expp2<>(SB), RODATA|NOPTR, $32
DATA expp3<>+0(SB)/8, $0x3f11566aaf25de2c
DATA expp3<>+8(SB)/8, $0x3f11566aaf25de2c
DATA expp3<>+16(SB)/8, $0x3f11566aaf25de2c
DATA expp3<>+24(SB)/8, $0x3f11566aaf25de2c
GLOBL expp3<>(SB), RODATA|NOPTR, $32
DATA expp4<>+0(SB)/8, $0xbebbbd41c5d26bf1
DATA expp4<>+8(SB)/8, $0xbebbbd41c5d26bf1
DATA expp4<>+16(SB)/8, $0xbebbbd41c5d26bf1
DATA expp4<>+24(SB)/8, $0xbebbbd41c5d26bf1
GLOBL expp4<>(SB), RODATA|NOPTR, $32
DATA expp5<>+0(SB)/8, $0x3e66376972bea4d0
DATA expp5<>+8(SB)/8, $0x3e66376972bea4d0
DATA expp5<>+16(SB)/8, $0x3e66376972bea4d0
DATA expp5<>+24(SB)/8, $0x3e66376972bea4d0
GLOBL expp5<>(SB), RODATA|NOPTR, $32
DATA exptwo<>+0(SB)/8, $0x4000000000000000
DATA exptwo<>+8(SB)/8, $0x4000000000000000
DATA exptwo<>+16(SB)/8, $0x4000000000000000
DATA exptwo<>+24(SB)/8, $0x4000000000000000
GLOBL exptwo<>(SB), RODATA|NOPTR, $32
DATA expone<>+0(SB)/8, $0x3ff0000000000000
DATA expone<>+8(SB)/8, $0x3ff0000000000000
DATA expone<>+16(SB)/8, $0x3ff0000000000000
DATA expone<>+24(SB)/8, $0x3ff0000000000000
GLOBL expone<>(SB), RODATA|NOPTR, $32
DATA expabsmask<>+0(SB)/8, $0x7fffffffffffffff
DATA expabsmask<>+8(SB)/8, $0x7fffffffffffffff
DATA expabsmask<>+16(SB)/8, $0x7fffffffffffffff
DATA expabsmask<>+24(SB)/8, $0x7fffffffffffffff
GLOBL expabsmask<>(SB), RODATA|NOPTR, $32
DATA expsignmask<>+0(SB)/8, $0x8000000000000000
DATA expsignmask<>+8(SB)/8, $0x8000000000000000
DATA expsignmask<>+16(SB)/8, $0x8000000000000000
DATA expsignmask<>+24(SB)/8, $0x8000000000000000
GLOBL expsignmask<>(SB), RODATA|NOPTR, $32
DATA expbias<>+0(SB)/8, $0x00000000000003ff
DATA expbias<>+8(SB)/8, $0x00000000000003ff
DATA expbias<>+16(SB)/8, $0x00000000000003ff
DATA expbias<>+24(SB)/8, $0x00000000000003ff
GLOBL expbias<>(SB), RODATA|NOPTR, $32

// func expAVX2(x *float64, n int) int
// Replaces x[i] by Exp(x[i]) for i < n (a multiple of 4), four at a time,
// and returns how many it did: n, or the start of the first group of four
// with a lane outside the fast range.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPD (DI)(AX*8), Y0

	// All four lanes with |x| ≤ 705 (false for NaN), or stop.
	VANDPD       expabsmask<>(SB), Y0, Y1
	VCMPPD       $0x12, explimit<>(SB), Y1, Y1
	VMOVMSKPD    Y1, BX
	CMPQ         BX, $15
	JNE          done

	// k = int(float64(log2e·x) + Copysign(0.5, x)); fk = float64(k).
	VMULPD      explog2e<>(SB), Y0, Y2
	VANDPD      expsignmask<>(SB), Y0, Y3
	VORPD       exphalf<>(SB), Y3, Y3
	VADDPD      Y3, Y2, Y2
	VCVTTPD2DQY Y2, X4
	VCVTDQ2PD   X4, Y5

	// hi = x − fk·ln2Hi; lo = fk·ln2Lo; r = hi − lo; t = r·r.
	VMULPD expln2hi<>(SB), Y5, Y6
	VSUBPD Y6, Y0, Y6
	VMULPD expln2lo<>(SB), Y5, Y7
	VSUBPD Y7, Y6, Y8
	VMULPD Y8, Y8, Y9

	// poly = p1 + t·(p2 + t·(p3 + t·(p4 + t·p5))).
	VMULPD expp5<>(SB), Y9, Y10
	VADDPD expp4<>(SB), Y10, Y10
	VMULPD Y10, Y9, Y10
	VADDPD expp3<>(SB), Y10, Y10
	VMULPD Y10, Y9, Y10
	VADDPD expp2<>(SB), Y10, Y10
	VMULPD Y10, Y9, Y10
	VADDPD expp1<>(SB), Y10, Y10

	// c = r − t·poly; y = 1 − ((lo − r·c/(2−c)) − hi).
	VMULPD  Y10, Y9, Y10
	VSUBPD  Y10, Y8, Y10
	VMULPD  Y10, Y8, Y11
	VMOVUPD exptwo<>(SB), Y12
	VSUBPD  Y10, Y12, Y12
	VDIVPD  Y12, Y11, Y11
	VSUBPD  Y11, Y7, Y11
	VSUBPD  Y6, Y11, Y11
	VMOVUPD expone<>(SB), Y12
	VSUBPD  Y11, Y12, Y11

	// y · 2^k, 2^k built from its bits: (k+1023) << 52.
	VPMOVSXDQ X4, Y13
	VPADDQ    expbias<>(SB), Y13, Y13
	VPSLLQ    $52, Y13, Y13
	VMULPD    Y13, Y11, Y11
	VMOVUPD   Y11, (DI)(AX*8)

	ADDQ $4, AX
	JMP  loop

done:
	MOVQ AX, ret+16(FP)
	VZEROUPPER
	RET
