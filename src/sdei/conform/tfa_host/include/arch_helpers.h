/* Host build of TF-A's SDEI dispatcher: system registers and barriers.
 *
 * On hardware these are single instructions; here every register is a per-PE variable of the
 * simulated machine (host.c), so the dispatcher reads the MPIDR, SCTLR, HCR and ID registers
 * of the PE the harness is running it on. Barriers become compiler fences: the simulation
 * runs one PE at a time. */
#ifndef SDEI_HOST_ARCH_HELPERS_H
#define SDEI_HOST_ARCH_HELPERS_H
#include <cdefs.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <arch.h>

/* Registers the dispatcher (or TF-A's arch_features.h) reads or writes. */
#define SDEI_HOST_SYSREGS(X) \
	X(mpidr_el1) X(sctlr_el1) X(sctlr_el2) X(hcr_el2) X(elr_el1) X(elr_el2) \
	X(spsr_el1) X(spsr_el2) X(elr_el3) X(spsr_el3) X(scr_el3) X(daif) \
	X(tpidr_el3) X(id_aa64dfr0_el1) X(id_aa64dfr1_el1) X(id_aa64isar0_el1) \
	X(id_aa64isar1_el1) X(id_aa64isar2_el1) X(id_aa64mmfr0_el1) X(id_aa64mmfr1_el1) \
	X(id_aa64mmfr2_el1) X(id_aa64mmfr3_el1) X(id_aa64pfr0_el1) X(id_aa64pfr1_el1) \
	X(id_aa64pfr2_el1) X(id_aa64smfr0_el1) X(id_aa64zfr0_el1)

#define SDEI_HOST_DECLARE(name) \
	u_register_t read_##name(void); \
	void write_##name(u_register_t value);
SDEI_HOST_SYSREGS(SDEI_HOST_DECLARE)
#undef SDEI_HOST_DECLARE

/* Older releases name HCR_EL2's accessor without the EL. */
static inline u_register_t read_hcr(void) { return read_hcr_el2(); }
static inline void write_hcr(u_register_t value) { write_hcr_el2(value); }

#define SDEI_HOST_FENCE(name) \
	static inline void name(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
SDEI_HOST_FENCE(dmbld)
SDEI_HOST_FENCE(dmbst)
SDEI_HOST_FENCE(dmbsy)
SDEI_HOST_FENCE(dmbish)
SDEI_HOST_FENCE(dsbsy)
SDEI_HOST_FENCE(dsbish)
SDEI_HOST_FENCE(isb)
#undef SDEI_HOST_FENCE
#endif
