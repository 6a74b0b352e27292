//go:build !purego

#include "textflag.h"

// The vector kernels: a tile of two output rows by 16 (or 8, or 4) columns kept
// in YMM accumulators across the whole inner loop. For t < count:
//
//	c0[j] += a0[t·astride] · w[t·wstride + j]
//	c1[j] += a1[t·astride] · w[t·wstride + j]
//
// each product rounded by VMULPD before VADDPD adds it, t in increasing
// order: lane by lane the Go loops' arithmetic, so the bits are the same.
// No FMA, on purpose. X15 (Go's zero register) is not touched.

// func mulAdd2x16(c0, c1, a0, a1 *float64, astride int, w *float64, wstride, count int)
TEXT ·mulAdd2x16(SB), NOSPLIT, $0-64
	MOVQ c0+0(FP), DI
	MOVQ c1+8(FP), SI
	MOVQ a0+16(FP), R8
	MOVQ a1+24(FP), R9
	MOVQ astride+32(FP), R10
	SHLQ $3, R10
	MOVQ w+40(FP), R11
	MOVQ wstride+48(FP), R12
	SHLQ $3, R12
	MOVQ count+56(FP), CX
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	VMOVUPD 0(SI), Y4
	VMOVUPD 32(SI), Y5
	VMOVUPD 64(SI), Y6
	VMOVUPD 96(SI), Y7
	TESTQ CX, CX
	JLE   done16

loop16:
	VBROADCASTSD (R8), Y8
	VBROADCASTSD (R9), Y9
	VMOVUPD 0(R11), Y10
	VMOVUPD 32(R11), Y11
	VMULPD  Y8, Y10, Y12
	VADDPD  Y12, Y0, Y0
	VMULPD  Y9, Y10, Y13
	VADDPD  Y13, Y4, Y4
	VMULPD  Y8, Y11, Y12
	VADDPD  Y12, Y1, Y1
	VMULPD  Y9, Y11, Y13
	VADDPD  Y13, Y5, Y5
	VMOVUPD 64(R11), Y10
	VMOVUPD 96(R11), Y11
	VMULPD  Y8, Y10, Y12
	VADDPD  Y12, Y2, Y2
	VMULPD  Y9, Y10, Y13
	VADDPD  Y13, Y6, Y6
	VMULPD  Y8, Y11, Y12
	VADDPD  Y12, Y3, Y3
	VMULPD  Y9, Y11, Y13
	VADDPD  Y13, Y7, Y7
	ADDQ    R10, R8
	ADDQ    R10, R9
	ADDQ    R12, R11
	DECQ    CX
	JNZ     loop16

done16:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VMOVUPD Y4, 0(SI)
	VMOVUPD Y5, 32(SI)
	VMOVUPD Y6, 64(SI)
	VMOVUPD Y7, 96(SI)
	VZEROUPPER
	RET

// func mulAdd2x8(c0, c1, a0, a1 *float64, astride int, w *float64, wstride, count int)
TEXT ·mulAdd2x8(SB), NOSPLIT, $0-64
	MOVQ c0+0(FP), DI
	MOVQ c1+8(FP), SI
	MOVQ a0+16(FP), R8
	MOVQ a1+24(FP), R9
	MOVQ astride+32(FP), R10
	SHLQ $3, R10
	MOVQ w+40(FP), R11
	MOVQ wstride+48(FP), R12
	SHLQ $3, R12
	MOVQ count+56(FP), CX
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 0(SI), Y4
	VMOVUPD 32(SI), Y5
	TESTQ CX, CX
	JLE   done8

loop8:
	VBROADCASTSD (R8), Y8
	VBROADCASTSD (R9), Y9
	VMOVUPD 0(R11), Y10
	VMOVUPD 32(R11), Y11
	VMULPD  Y8, Y10, Y12
	VADDPD  Y12, Y0, Y0
	VMULPD  Y9, Y10, Y13
	VADDPD  Y13, Y4, Y4
	VMULPD  Y8, Y11, Y12
	VADDPD  Y12, Y1, Y1
	VMULPD  Y9, Y11, Y13
	VADDPD  Y13, Y5, Y5
	ADDQ    R10, R8
	ADDQ    R10, R9
	ADDQ    R12, R11
	DECQ    CX
	JNZ     loop8

done8:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y4, 0(SI)
	VMOVUPD Y5, 32(SI)
	VZEROUPPER
	RET

// func mulAdd2x4(c0, c1, a0, a1 *float64, astride int, w *float64, wstride, count int)
TEXT ·mulAdd2x4(SB), NOSPLIT, $0-64
	MOVQ c0+0(FP), DI
	MOVQ c1+8(FP), SI
	MOVQ a0+16(FP), R8
	MOVQ a1+24(FP), R9
	MOVQ astride+32(FP), R10
	SHLQ $3, R10
	MOVQ w+40(FP), R11
	MOVQ wstride+48(FP), R12
	SHLQ $3, R12
	MOVQ count+56(FP), CX
	VMOVUPD 0(DI), Y0
	VMOVUPD 0(SI), Y4
	TESTQ CX, CX
	JLE   done4

loop4:
	VBROADCASTSD (R8), Y8
	VBROADCASTSD (R9), Y9
	VMOVUPD 0(R11), Y10
	VMULPD  Y8, Y10, Y12
	VADDPD  Y12, Y0, Y0
	VMULPD  Y9, Y10, Y13
	VADDPD  Y13, Y4, Y4
	ADDQ    R10, R8
	ADDQ    R10, R9
	ADDQ    R12, R11
	DECQ    CX
	JNZ     loop4

done4:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y4, 0(SI)
	VZEROUPPER
	RET
