/*
 * arena.h: the C API of libarena.so, which runs Arena strategy modules (a
 * champion pulled from a tournament, say) in any host process, through the
 * same sandbox, fuel metering and ABI code the workers score them with
 * (Go package strategy). Build it with
 *
 *     go build -buildmode=c-shared -o bin/libarena.so ./cabi
 *
 * or `make python`. docs/python.md is the reference; in short:
 *
 * Handles. Engines, modules and the per-kind objects are opaque nonzero
 * 64-bit handles (never pointers). arena_close closes any of them; closing
 * an engine closes every module and object made from it. A handle is never
 * reused within a process, so a stale one is refused, not mistaken.
 *
 * Errors. Every function that can fail returns an ARENA_* code and, when
 * err is not NULL, stores in *err a NUL-terminated message to release with
 * arena_free (NULL on success). After ARENA_FAILED the object refuses every
 * later call with the same error (its memory is in an unknown state):
 * close it and start a new one. After ARENA_BAD_INPUT the object carries
 * on: the module never saw the input. A panic inside the library is
 * recovered and reported as ARENA_INTERNAL; it never takes the host down.
 *
 * Limits. A module is loaded with a challenge's limits as JSON (the
 * "limits" object of GET /api/v1/challenges/{slug}; fields left out take
 * Arena's defaults, NULL or "" takes them all). They apply per call: every
 * init and every step gets fuel_per_task fuel and task_timeout_ms of wall
 * time, and fuel used keeps counting across calls.
 *
 * Buffers are the caller's: the library reads and writes them during the
 * call only and keeps no pointer to them. Lengths are element counts for
 * double buffers and byte counts for uint8_t buffers.
 *
 * Threads. Every function may be called from any thread; calls on one
 * object are serialized. Do not use the library in a child of fork() made
 * after it was loaded (Go's runtime does not survive fork).
 */
#ifndef ARENA_H
#define ARENA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ARENA_IN marks a buffer the library only reads. libarena's own build
 * defines it empty, because cgo cannot export const parameters; including
 * this header there makes the compiler check every prototype below against
 * the exported functions. */
#ifndef ARENA_IN
#define ARENA_IN const
#endif

typedef uint64_t arena_handle;

/* Error classes, the return value of every function below but the two
 * that cannot fail. */
#define ARENA_OK 0
#define ARENA_REJECTED 1  /* the module failed validation: it never ran */
#define ARENA_FAILED 2    /* the module misbehaved: a trap, fuel exhausted, a bad pointer, an invalid result */
#define ARENA_BAD_INPUT 3 /* the caller's mistake, refused before the module saw it */
#define ARENA_INTERNAL 4  /* the library's own failure (a recovered panic, say) */

/* Activation element types (the ABI's dtype). */
#define ARENA_BFLOAT16 0
#define ARENA_FLOAT32 1

/* Directions a tensor crosses a pipeline cut in (the ABI's direction). */
#define ARENA_FORWARD 0  /* an activation, from the earlier stage to the later */
#define ARENA_BACKWARD 1 /* the gradient with respect to it, back again */

/* The version of this API: 3 (2: the activation codec calls take the
 * direction; 3: the activation stage). A caller checks it before anything
 * else. */
int arena_version(void);

/* Releases a message or log the library returned. NULL is fine. */
void arena_free(char *p);

/* Engines compile modules (once per content hash and memory limit) and own
 * everything made from them. capacity bounds the compiled modules kept in
 * memory (at least 1); cache_dir, when neither NULL nor "", also keeps
 * metered modules and machine code on disk, as the workers' --cache-dir. */
int arena_engine_new(int64_t capacity, ARENA_IN char *cache_dir, arena_handle *engine, char **err);

/* Validates, meters and compiles a module of kind "optimizer",
 * "lr_schedule", "grad_compression" or "activation_compression" under
 * limits_json. A module that fails validation gives ARENA_REJECTED. */
int arena_module_load(arena_handle engine, ARENA_IN char *kind, ARENA_IN uint8_t *wasm, int64_t len,
                      ARENA_IN char *limits_json, arena_handle *module, char **err);

/* The module as JSON: {"kind", "sha256" (hex), "bytes", "limits"}. */
int arena_module_info(arena_handle module, char **json, char **err);

/* An optimizer for n parameters (ABI v1's flat vector) when table_json is
 * NULL or "", or for the parameters a tensor table describes: a JSON array
 * of {"name", "role" (a role name such as "embedding"), "rows", "cols",
 * "offset"} as in docs/optimizer-abi.md; n is then 0 or the table's total.
 * steps is the run's length, 0 when unknown (table only). A module of ABI
 * v2 is given the table, one of v1 opt_init(n). */
int arena_optimizer_new(arena_handle module, int64_t n, ARENA_IN char *table_json, int64_t steps,
                        arena_handle *optimizer, char **err);

/* *tensors is 1 when the module was given the table (ABI v2), else 0. */
int arena_optimizer_tensors(arena_handle optimizer, int *tensors, char **err);

/* Step t (from 0): updates the n parameters in place, given their
 * gradients and the minibatch loss. */
int arena_optimizer_step(arena_handle optimizer, int64_t t, double *params, ARENA_IN double *grads, int64_t n,
                         double loss, char **err);

/* A learning-rate schedule for a run of total steps. */
int arena_schedule_new(arena_handle module, int64_t total, arena_handle *schedule, char **err);

/* *lr is the rate for step t given the last minibatch loss, in [0, 1000]. */
int arena_schedule_lr(arena_handle schedule, int64_t t, double loss, double *lr, char **err);

/* The compressing side of a gradient codec: worker (0 to workers-1) of a
 * data-parallel run, for messages of at most budget bytes. With a NULL or
 * empty table_json, for flat gradients of n values (steps must be 0);
 * else table_json is the model's tensor table, as arena_optimizer_new
 * takes it (n is 0 or its size), and steps the run's length (0: unknown):
 * a module with gc_init2 is given both, one with only gc_init sees n. */
int arena_grad_worker_new(arena_handle module, int64_t worker, int64_t workers, int64_t n, ARENA_IN char *table_json,
                          int64_t budget, int64_t steps, arena_handle *worker_out, char **err);

/* Compresses step t's gradient (n values) into msg, which has room for cap
 * bytes (at least the budget); *len is the message's length. */
int arena_grad_compress(arena_handle worker, int64_t t, ARENA_IN double *grad, int64_t n, uint8_t *msg, int64_t cap,
                        int64_t *len, char **err);

/* The decompressing side: it sees the workers' messages and nothing else.
 * n, table_json and steps as for the workers. Decode each step's messages
 * in worker order. */
int arena_grad_aggregator_new(arena_handle module, int64_t workers, int64_t n, ARENA_IN char *table_json,
                              int64_t budget, int64_t steps, arena_handle *aggregator, char **err);

/* Decodes worker's message of step t (len bytes) into out (n values). */
int arena_grad_decompress(arena_handle aggregator, int64_t worker, int64_t t, ARENA_IN uint8_t *msg, int64_t len,
                          double *out, int64_t n, char **err);

/* The room a message of a tensor of up to size bytes needs: the cap to
 * give arena_activation_compress. Returns -1 for a size outside 1..2^30. */
int64_t arena_activation_capacity(int64_t size);

/* The compressing side of an activation codec, for tensors of up to size
 * bytes, in an instance of its own. For the two stages of a pipeline cut,
 * use arena_activation_stage_new below: it holds a stage's encoder and
 * decoder in one instance, as the benchmark does. */
int arena_activation_encoder_new(arena_handle module, int64_t size, arena_handle *encoder, char **err);

/* Encodes a rows×cols tensor of dtype (len = rows·cols·2 for bfloat16, ·4
 * for float32 bytes, little-endian) crossing a pipeline cut in direction
 * (ARENA_FORWARD, an activation, or ARENA_BACKWARD, its gradient; a
 * module of ABI v1 is not told) into msg, which has room for cap bytes
 * (at least arena_activation_capacity(size)); *msg_len is its length. */
int arena_activation_compress(arena_handle encoder, int direction, int dtype, int64_t rows, int64_t cols,
                              ARENA_IN uint8_t *data, int64_t len, uint8_t *msg, int64_t cap, int64_t *msg_len,
                              char **err);

/* The decompressing side, for tensors of up to size bytes; it never sees
 * the original. */
int arena_activation_decoder_new(arena_handle module, int64_t size, arena_handle *decoder, char **err);

/* Decodes a message of len bytes that crossed in direction into the
 * rows×cols tensor of dtype at out (n bytes, rows·cols·2 or ·4). A lossy
 * codec gives a tensor close to the original, not equal. */
int arena_activation_decompress(arena_handle decoder, int direction, int dtype, int64_t rows, int64_t cols,
                                ARENA_IN uint8_t *msg, int64_t len, uint8_t *out, int64_t n, char **err);

/* One pipeline stage of an activation cut, for tensors of up to size
 * bytes: one instance of the codec that encodes what its stage sends and
 * decodes what it receives, as the benchmark runs it. first is 1 for the
 * stage before the cut (it encodes activations and decodes their
 * gradients) and 0 for the stage after it (it decodes activations and
 * encodes their gradients); the first allocates its encoder's buffers,
 * then its decoder's, the second the other way round, as in the
 * benchmark. A codec that keeps state across the two directions sees in
 * a pair of stages what it saw when it was scored, and not in separate
 * encoders and decoders, which are an instance each. */
int arena_activation_stage_new(arena_handle module, int64_t size, int first, arena_handle *stage, char **err);

/* arena_activation_compress on the stage's instance. */
int arena_activation_stage_encode(arena_handle stage, int direction, int dtype, int64_t rows, int64_t cols,
                                  ARENA_IN uint8_t *data, int64_t len, uint8_t *msg, int64_t cap, int64_t *msg_len,
                                  char **err);

/* arena_activation_decompress on the stage's instance. */
int arena_activation_stage_decode(arena_handle stage, int direction, int dtype, int64_t rows, int64_t cols,
                                  ARENA_IN uint8_t *msg, int64_t len, uint8_t *out, int64_t n, char **err);

/* The fuel an object's module has spent so far, in every call. */
int arena_fuel_used(arena_handle object, int64_t *fuel, char **err);

/* The tail of what an object's module wrote to stdout and stderr: *log
 * (release it with arena_free) holds *len bytes, which may include NULs. */
int arena_log(arena_handle object, char **log, int64_t *len, char **err);

/* Closes an engine (and everything made from it), a module or an object.
 * Objects made from a module outlive closing the module. */
int arena_close(arena_handle handle, char **err);

#ifdef __cplusplus
}
#endif

#endif
