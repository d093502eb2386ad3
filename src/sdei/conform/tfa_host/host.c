/*
 * Host build of TF-A's SDEI dispatcher: the machine TF-A's unmodified sdei_*.c run on.
 *
 * Written for sdei (not taken from TF-A). It provides what BL31 would: per-PE non-secure
 * contexts and system registers, a GICv3 (per-PE SGIs and PPIs, SPIs with routing, type,
 * priority, enable, pending, active, running priority), a minimal exception handling
 * framework (priority handlers, activate/deactivate with TF-A's ordering rule), spinlocks
 * that report misuse, assert and panic captured as results, the reference platform's event
 * table and SDEI hooks, and the PSCI notifications TF-A subscribes to.
 *
 * TF-A dispatches synchronously: sdei_intr_handler() and sdei_dispatch_event() call
 * begin_sdei_synchronous_dispatch() and only return once the client COMPLETEs, which
 * longjmps back into them. Here each dispatch runs as a coroutine on its own stack:
 * begin_sdei_synchronous_dispatch() suspends it and hands control back to the harness
 * (the handler has been entered); a COMPLETE made later through sdei_host_call() longjmps
 * into it, it runs to its end and returns to that call.
 *
 * The harness (sdei.conform.tfa, through ctypes) calls the sdei_host_* functions. Every one
 * of them reports a TF-A panic, a failed assertion or a misuse of the simulated hardware as
 * SDEI_HOST_FAILED, with the reason in sdei_host_failure().
 */
/* Built with -D_GNU_SOURCE (dl_iterate_phdr): sdei.conform.tfa passes it. */
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <arch_helpers.h>
#include <bl31/ehf.h>
#include <bl31/interrupt_mgmt.h>
#include <common/debug.h>
#include <context.h>
#include <lib/el3_runtime/context_mgmt.h>
#include <lib/el3_runtime/pubsub.h>
#include <lib/smccc.h>
#include <lib/spinlock.h>
#include <plat/common/platform.h>
#include <services/sdei.h>
#include <services/sdei_flags.h>

#define NPE PLATFORM_CORE_COUNT
#define LEVELS 3 /* TF-A nests two dispatches; one more slot lets its own check fire */
#define STACK_BYTES (128 * 1024)
#define NIRQ 1020
#define NPRIVATE 32
#define IDLE_PRIORITY 0x100U /* above every GIC priority: nothing running */

#define SDEI_HOST_FAILED (-1)
#define CLIENT_PSTATE 0x3c5U /* EL1h, DAIF masked: a client making an SMC */

/* ------------------------------------------------------------------ the reference platform */

/* Event numbers as in sdei.firmware.Platform.reference(profile="tfa") and docs/conform.md. */
static sdei_ev_map_t host_private_events[] = {
	SDEI_DEFINE_EVENT_0(8),
	SDEI_PRIVATE_EVENT(1000, SDEI_DYN_IRQ, SDEI_MAPF_DYNAMIC),
	SDEI_PRIVATE_EVENT(1001, SDEI_DYN_IRQ, SDEI_MAPF_DYNAMIC),
	SDEI_PRIVATE_EVENT(1002, SDEI_DYN_IRQ, SDEI_MAPF_DYNAMIC),
	SDEI_EXPLICIT_EVENT(0x40000001, SDEI_MAPF_CRITICAL),
};

static sdei_ev_map_t host_shared_events[] = {
	SDEI_SHARED_EVENT(2000, SDEI_DYN_IRQ, SDEI_MAPF_DYNAMIC),
	SDEI_SHARED_EVENT(2001, SDEI_DYN_IRQ, SDEI_MAPF_DYNAMIC),
	SDEI_SHARED_EVENT(2002, SDEI_DYN_IRQ, SDEI_MAPF_DYNAMIC),
	SDEI_SHARED_EVENT(0x40000010, 200, SDEI_MAPF_NORMAL),
	SDEI_SHARED_EVENT(0x40000011, 201, SDEI_MAPF_CRITICAL),
};

REGISTER_SDEI_MAP(host_private_events, host_shared_events);

#define EVENT0_SGI 8U
#define SECURE_TIMER_PPI 29U
#define NS_MEMORY_BASE 0x80000000ULL
#define NS_MEMORY_SIZE 0x80000000ULL

/* The linker's image symbols TF-A's headers take the address of (bl_common.h, runtime_svc.h);
 * nothing here reads them. */
char __BL31_START__[1], __BL31_END__[1], __RO_START__[1], __RO_END__[1], __RW_END__[1];
char __RT_SVC_DESCS_START__[1], __RT_SVC_DESCS_END__[1];

/* What PSCI publishes (TF-A's pubsub places these in a section; here they are just symbols). */
extern pubsub_cb_t __cb_func_sdei_cpu_on_initpsci_cpu_on_finish;
extern pubsub_cb_t __cb_func_sdei_cpu_wakeup_initpsci_suspend_pwrdown_finish;

/* ------------------------------------------------------------------ machine state */

enum sysreg {
#define SDEI_HOST_ENUM(name) REG_##name,
	SDEI_HOST_SYSREGS(SDEI_HOST_ENUM)
#undef SDEI_HOST_ENUM
	NSYSREG
};

struct irq {
	uint8_t type; /* INTR_TYPE_EL3, INTR_TYPE_NS or INTR_TYPE_S_EL1 */
	uint8_t priority;
	uint8_t enabled;
	uint8_t pending;
	uint8_t active;
	uint8_t route_any;
	uint64_t route; /* the MPIDR an SPI routed to one PE goes to */
};

struct active_irq {
	unsigned int intid;
	unsigned int priority;
};

struct pe_state {
	cpu_context_t ns;
	u_register_t sysregs[NSYSREG];
	struct irq private_irqs[NPRIVATE];
	struct active_irq active[8]; /* acknowledged and not yet ended, oldest first */
	unsigned int nactive;
	unsigned int ehf[8]; /* priorities activated through the EHF, oldest first */
	unsigned int nehf;
	unsigned int live; /* dispatches begun and not yet completed: coroutine slots in use */
	ucontext_t slot_context[LEVELS];
	uint8_t slot_entered[LEVELS];
};

/* Everything below lives in this library's writable segment, with TF-A's own state, so that
 * sdei_host_save()/sdei_host_restore() cover all of it. */
static struct {
	unsigned int pes;
	unsigned int cur; /* the PE TF-A is running on */
	struct pe_state pe[NPE];
	struct irq spis[NIRQ];
	ehf_handler_t ehf_handlers[256];
	unsigned int presented; /* the interrupt the GIC acknowledges next */
	int take_explicit;      /* sdei_host_take: dispatch this explicit event instead */
	int entered;
	char log[2048];
	size_t log_used;
	char failure[512];
} m;

/* Not saved or restored: the harness's own return points and the coroutine stacks. */
static struct {
	char *stacks[NPE][LEVELS];
	jmp_buf failure_return; /* where a panic or failed assertion goes */
	jmp_buf smc_return;     /* where a completed dispatch resumes the COMPLETE call */
	ucontext_t harness;     /* where a dispatch that suspends or refuses goes */
	void *segment;
	size_t segment_size;
} keep;

static struct pe_state *here(void)
{
	return &m.pe[m.cur];
}

static __attribute__((__noreturn__, __format__(__printf__, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m.failure, sizeof(m.failure), fmt, ap);
	va_end(ap);
	longjmp(keep.failure_return, 1);
}

/* ------------------------------------------------------------------ TF-A's runtime services */

void tf_log(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	/* TF-A's format strings start with a one-byte log-level marker. */
	vsnprintf(line, sizeof(line), fmt + 1, ap);
	va_end(ap);
	size_t n = strlen(line);
	if (m.log_used + n + 1 >= sizeof(m.log))
		m.log_used = 0;
	memcpy(m.log + m.log_used, line, n + 1);
	m.log_used += n;
}

void tf_log_newline(const char log_fmt[2])
{
	(void)log_fmt;
}

void console_flush(void)
{
}

static const char *last_log_line(void)
{
	size_t end = m.log_used;
	while (end > 0 && m.log[end - 1] == '\n')
		end--;
	m.log[end] = '\0';
	size_t start = end;
	while (start > 0 && m.log[start - 1] != '\n')
		start--;
	return m.log + start;
}

void do_panic(void)
{
	const char *why = last_log_line();
	fail("TF-A panic on PE%u%s%s", m.cur, *why ? ": " : "", why);
}

/* panic() calls this from TF-A 2.10 on. */
void el3_panic(void)
{
	do_panic();
}

void sdei_host_assert_failed(const char *file, int line, const char *expression)
{
	const char *name = strrchr(file, '/');
	fail("TF-A assertion failed on PE%u: %s (%s:%d)", m.cur, expression,
	     name ? name + 1 : file, line);
}

void spin_lock(spinlock_t *lock)
{
	/* One PE runs at a time and no lock is held across a dispatch: a lock found held
	 * would never be released. */
	if (lock->lock != 0U)
		fail("spinlock deadlock on PE%u: a lock TF-A already holds was taken again", m.cur);
	lock->lock = 1U;
}

void spin_unlock(spinlock_t *lock)
{
	if (lock->lock == 0U)
		fail("spinlock misuse on PE%u: a lock that is not held was released", m.cur);
	lock->lock = 0U;
}

#define SDEI_HOST_ACCESSORS(name) \
	u_register_t read_##name(void) { return here()->sysregs[REG_##name]; } \
	void write_##name(u_register_t value) { here()->sysregs[REG_##name] = value; }
SDEI_HOST_SYSREGS(SDEI_HOST_ACCESSORS)
#undef SDEI_HOST_ACCESSORS

void *cm_get_context(uint32_t security_state)
{
	return security_state == NON_SECURE ? &here()->ns : NULL;
}

void cm_set_elr_spsr_el3(uint32_t security_state, uintptr_t entrypoint, uint32_t spsr)
{
	el3_state_t *state = get_el3state_ctx(cm_get_context(security_state));
	write_ctx_reg(state, CTX_ELR_EL3, entrypoint);
	write_ctx_reg(state, CTX_SPSR_EL3, spsr);
}

/* The handler's PSTATE in later TF-A (2.10 on; bl31/sync_handle.h), written here from
 * AArch64.TakeException for what this simulated PE implements (FEAT_PAN and nothing newer):
 * EL_C with SP_ELx, DAIF masked, NZCV and DIT unchanged, PAN set unless SCTLR_ELx.SPAN. The
 * third argument (SCR_EL3, later releases) is not needed for that. */
u_register_t create_spsr(u_register_t old_spsr, unsigned int target_el, u_register_t scr_el3)
{
	(void)scr_el3;
	u_register_t sctlr = target_el == MODE_EL2 ? read_sctlr_el2() : read_sctlr_el1();
	u_register_t spsr = SPSR_64(target_el, MODE_SP_ELX, DISABLE_ALL_EXCEPTIONS);
	spsr |= old_spsr & ((0xfULL << 28) | SPSR_DIT_BIT);
	bool pan = ((read_id_aa64mmfr1_el1() >> ID_AA64MMFR1_EL1_PAN_SHIFT) & 0xfU) != 0U;
	if (pan && (sctlr & SCTLR_SPAN_BIT) == 0U)
		spsr |= SPSR_PAN_BIT;
	else
		spsr |= old_spsr & SPSR_PAN_BIT;
	return spsr;
}

void cm_el1_sysregs_context_save(uint32_t security_state)
{
	(void)security_state; /* the client never runs in Secure state here */
}

void cm_el1_sysregs_context_restore(uint32_t security_state)
{
	(void)security_state;
}

void cm_set_next_eret_context(uint32_t security_state)
{
	(void)security_state;
}

unsigned int plat_my_core_pos(void)
{
	return m.cur;
}

static uint64_t mpidr_of(unsigned int pe)
{
	return (uint64_t)pe; /* Aff0 = PE index, as the reference platform numbers them */
}

int plat_core_pos_by_mpidr(u_register_t mpidr)
{
	mpidr &= MPIDR_AFFINITY_MASK;
	for (unsigned int pe = 0; pe < m.pes; pe++)
		if (mpidr_of(pe) == mpidr)
			return (int)pe;
	return -1;
}

void plat_sdei_setup(void)
{
}

int plat_sdei_validate_entry_point(uintptr_t ep, unsigned int client_mode)
{
	(void)client_mode;
	return (ep >= NS_MEMORY_BASE && ep - NS_MEMORY_BASE < NS_MEMORY_SIZE) ? 0 : -1;
}

void plat_sdei_handle_masked_trigger(uint64_t mpidr, unsigned int intr)
{
	(void)mpidr;
	(void)intr;
}

/* ------------------------------------------------------------------ the GICv3 */

static struct irq *irq_on(unsigned int pe, unsigned int id)
{
	if (id < NPRIVATE)
		return &m.pe[pe].private_irqs[id];
	if (id < NIRQ)
		return &m.spis[id];
	/* No such interrupt (1020 and up are special INTIDs). TF-A's GICv3 driver asserts on
	 * one (gicv3_main.c); without assertions its distributor bits read as zero - Group 0,
	 * which TF-A takes for EL3's - and writes are ignored. */
#if ENABLE_ASSERTIONS
	fail("TF-A's GICv3 driver asserts on PE%u: interrupt %u is not an SGI, PPI or SPI", pe, id);
#endif
	static struct irq reserved;
	memset(&reserved, 0, sizeof(reserved));
	reserved.type = INTR_TYPE_EL3;
	return &reserved;
}

static struct irq *irq(unsigned int id)
{
	return irq_on(m.cur, id);
}

int plat_ic_is_spi(unsigned int id) { return id >= 32U && id < NIRQ; }
int plat_ic_is_ppi(unsigned int id) { return id >= 16U && id < 32U; }
int plat_ic_is_sgi(unsigned int id) { return id < 16U; }
int plat_ic_has_interrupt_type(unsigned int type) { return type <= INTR_TYPE_NS; }
unsigned int plat_ic_get_interrupt_id(unsigned int raw) { return raw & 0x3ffU; }
uint32_t plat_ic_get_interrupt_type(uint32_t id) { return irq(id)->type; }
unsigned int plat_ic_get_interrupt_active(unsigned int id) { return irq(id)->active; }
void plat_ic_disable_interrupt(unsigned int id) { irq(id)->enabled = 0; }
void plat_ic_enable_interrupt(unsigned int id) { irq(id)->enabled = 1; }
void plat_ic_set_interrupt_pending(unsigned int id) { irq(id)->pending = 1; }
void plat_ic_clear_interrupt_pending(unsigned int id) { irq(id)->pending = 0; }
void plat_ic_set_interrupt_type(unsigned int id, unsigned int type) { irq(id)->type = (uint8_t)type; }

void plat_ic_set_interrupt_priority(unsigned int id, unsigned int priority)
{
	irq(id)->priority = (uint8_t)priority;
}

void plat_ic_set_spi_routing(unsigned int id, unsigned int routing_mode, u_register_t mpidr)
{
	if (!plat_ic_is_spi(id))
		fail("GIC: routing set for interrupt %u, which is not an SPI", id);
	m.spis[id].route_any = routing_mode == INTR_ROUTING_MODE_ANY;
	m.spis[id].route = mpidr & MPIDR_AFFINITY_MASK;
}

void plat_ic_raise_el3_sgi(int sgi_num, u_register_t target)
{
	int pe = plat_core_pos_by_mpidr(target);
	if (sgi_num < 0 || sgi_num >= 16 || pe < 0)
		fail("GIC: SGI %d raised towards MPIDR %#lx, which is not a PE", sgi_num, target);
	m.pe[pe].private_irqs[sgi_num].pending = 1;
}

unsigned int plat_ic_get_running_priority(void)
{
	struct pe_state *pe = here();
	return pe->nactive ? pe->active[pe->nactive - 1].priority : IDLE_PRIORITY;
}

uint32_t plat_ic_acknowledge_interrupt(void)
{
	struct pe_state *pe = here();
	struct irq *it = irq(m.presented);
	if (pe->nactive == sizeof(pe->active) / sizeof(pe->active[0]))
		fail("GIC: too many active interrupts on PE%u", m.cur);
	it->pending = 0;
	it->active = 1;
	pe->active[pe->nactive].intid = m.presented;
	pe->active[pe->nactive].priority = it->priority;
	pe->nactive++;
	return m.presented;
}

void plat_ic_end_of_interrupt(uint32_t raw)
{
	struct pe_state *pe = here();
	unsigned int id = plat_ic_get_interrupt_id(raw);
	if (pe->nactive == 0 || pe->active[pe->nactive - 1].intid != id)
		fail("GIC: EOI of interrupt %u on PE%u, which is not the running one", id, m.cur);
	pe->nactive--;
	irq(id)->active = 0;
}

/* ------------------------------------------------------------------ the EHF */

static unsigned int running_priority(unsigned int pe_index)
{
	const struct pe_state *pe = &m.pe[pe_index];
	unsigned int running = pe->nactive ? pe->active[pe->nactive - 1].priority : IDLE_PRIORITY;
	if (pe->nehf && pe->ehf[pe->nehf - 1] < running)
		running = pe->ehf[pe->nehf - 1];
	return running;
}

void ehf_register_priority_handler(unsigned int pri, ehf_handler_t handler)
{
	if (pri > 0xffU || m.ehf_handlers[pri] != NULL)
		fail("EHF: a second handler for priority %#x", pri);
	m.ehf_handlers[pri] = handler;
}

void ehf_activate_priority(unsigned int priority)
{
	struct pe_state *pe = here();
	unsigned int running = running_priority(m.cur);
	if (priority >= running) /* TF-A's EHF panics on the same mismatch */
		fail("EHF: activating priority %#x on PE%u, not above the running %#x",
		     priority, m.cur, running);
	if (pe->nehf == sizeof(pe->ehf) / sizeof(pe->ehf[0]))
		fail("EHF: too many active priorities on PE%u", m.cur);
	pe->ehf[pe->nehf++] = priority;
}

void ehf_deactivate_priority(unsigned int priority)
{
	struct pe_state *pe = here();
	if (pe->nehf == 0 || pe->ehf[pe->nehf - 1] != priority)
		fail("EHF: deactivating priority %#x on PE%u, which is not the active one",
		     priority, m.cur);
	pe->nehf--;
}

/* ------------------------------------------------------------------ dispatch coroutines */

void begin_sdei_synchronous_dispatch(jmp_buf *buffer)
{
	struct pe_state *pe = here();
	unsigned int slot = pe->live;
	if (setjmp(*buffer) != 0)
		return; /* the client COMPLETEd: TF-A goes on with the dispatch's tail */
	pe->slot_entered[slot] = 1;
	pe->live++;
	m.entered = 1;
	swapcontext(&pe->slot_context[slot], &keep.harness);
	fail("a suspended TF-A dispatch on PE%u was resumed other than by COMPLETE", m.cur);
}

static void run_dispatch(void)
{
	struct pe_state *pe = here();
	unsigned int slot = pe->live;
	pe->slot_entered[slot] = 0;
	if (m.take_explicit >= 0) {
		(void)sdei_dispatch_event(m.take_explicit);
	} else {
		unsigned int id = m.presented;
		unsigned int priority = irq(id)->priority;
		ehf_handler_t handler = m.ehf_handlers[priority];
		if (handler == NULL)
			fail("EHF: no handler for priority %#x (interrupt %u)", priority, id);
		uint32_t raw = plat_ic_acknowledge_interrupt();
		uint32_t flags = 0;
		set_interrupt_src_ss(flags, NON_SECURE);
		(void)handler(raw, flags, &pe->ns, NULL);
		for (unsigned int i = 0; i < pe->nactive; i++)
			if (pe->active[i].intid == id)
				fail("interrupt %u was never EOIed by TF-A on PE%u", id, m.cur);
	}
	pe = here();
	if (pe->slot_entered[slot]) { /* completed: the COMPLETE call returns */
		pe->slot_entered[slot] = 0;
		pe->live--;
		longjmp(keep.smc_return, 1);
	}
	setcontext(&keep.harness); /* refused: back to sdei_host_take */
}

/* ------------------------------------------------------------------ snapshots */

static int find_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	uintptr_t marker = (uintptr_t)&m;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && marker >= start &&
		    marker < start + ph->p_memsz) {
			keep.segment = (void *)start;
			keep.segment_size = ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

size_t sdei_host_snapshot_size(void)
{
	if (keep.segment == NULL)
		dl_iterate_phdr(find_segment, NULL);
	return keep.segment_size;
}

void sdei_host_save(void *buffer)
{
	memcpy(buffer, keep.segment, keep.segment_size);
}

void sdei_host_restore(const void *buffer)
{
	typeof(keep) saved = keep;
	memcpy(keep.segment, buffer, keep.segment_size);
	keep = saved;
}

/* ------------------------------------------------------------------ the harness's side */

const char *sdei_host_failure(void)
{
	return m.failure;
}

const char *sdei_host_log(void)
{
	return m.log;
}

static void reset_pe(unsigned int index, int feat_pan)
{
	struct pe_state *pe = &m.pe[index];
	memset(pe->private_irqs, 0, sizeof(pe->private_irqs));
	for (unsigned int id = 0; id < NPRIVATE; id++) {
		pe->private_irqs[id].type = INTR_TYPE_NS;
		pe->private_irqs[id].priority = 0xa0;
	}
	/* The platform's Group 0 interrupts, as BL31 sets them up at boot and at CPU_ON. */
	pe->private_irqs[EVENT0_SGI].type = INTR_TYPE_EL3;
	pe->private_irqs[EVENT0_SGI].priority = PLAT_SDEI_NORMAL_PRI;
	pe->private_irqs[EVENT0_SGI].enabled = 1;
	pe->private_irqs[SECURE_TIMER_PPI].type = INTR_TYPE_S_EL1;
	pe->nactive = 0;
	pe->nehf = 0;
	memset(pe->sysregs, 0, sizeof(pe->sysregs));
	pe->sysregs[REG_mpidr_el1] = (1ULL << 31) | mpidr_of(index);
	/* FEAT_PAN; no VHE host, SSBS or MTE; SCTLR_ELx.SPAN = 0: PAN is set on entry. */
	pe->sysregs[REG_id_aa64mmfr1_el1] =
		feat_pan ? (1ULL << ID_AA64MMFR1_EL1_PAN_SHIFT) : 0;
	memset(&pe->ns, 0, sizeof(pe->ns));
	/* A client at non-secure EL1: SCR_EL3.NS set, HCE clear. */
	write_ctx_reg(get_el3state_ctx(&pe->ns), CTX_SCR_EL3, SCR_NS_BIT | SCR_RW_BIT);
}

static int feat_pan_now;

/* Back to the boot state: `pristine` is a snapshot taken before the first boot. */
int sdei_host_boot(unsigned int pes, int feat_pan, const void *pristine)
{
	if (pes == 0 || pes > NPE)
		return SDEI_HOST_FAILED;
	sdei_host_restore(pristine);
	m.pes = pes;
	feat_pan_now = feat_pan;
	if (setjmp(keep.failure_return) != 0)
		return SDEI_HOST_FAILED;
	for (unsigned int id = 32; id < NIRQ; id++) {
		m.spis[id].type = INTR_TYPE_NS;
		m.spis[id].priority = 0xa0;
		m.spis[id].route_any = 1;
	}
	for (unsigned int pe = 0; pe < pes; pe++)
		reset_pe(pe, feat_pan);
	m.cur = 0;
	sdei_init();
	for (unsigned int pe = 1; pe < pes; pe++) {
		m.cur = pe;
		(void)__cb_func_sdei_cpu_on_initpsci_cpu_on_finish(NULL);
	}
	return 0;
}

/* An SMC from the client on `pe`: x0 back in *x0; *completed set when it ended a dispatch
 * (the client then goes on where sdei_host_context says). */
int sdei_host_call(unsigned int pe, uint32_t fid, uint64_t x1, uint64_t x2, uint64_t x3,
		   uint64_t x4, uint64_t x5, uint64_t *x0, int *completed)
{
	m.cur = pe;
	*completed = 0;
	if (setjmp(keep.failure_return) != 0)
		return SDEI_HOST_FAILED;
	gp_regs_t *regs = get_gpregs_ctx(&m.pe[pe].ns);
	write_ctx_reg(regs, CTX_GPREG_X0, fid);
	write_ctx_reg(regs, CTX_GPREG_X1, x1);
	write_ctx_reg(regs, CTX_GPREG_X2, x2);
	write_ctx_reg(regs, CTX_GPREG_X3, x3);
	write_ctx_reg(regs, CTX_GPREG_X4, x4);
	write_ctx_reg(regs, CTX_GPREG_X5, x5);
	/* The SMC was taken from the client at EL1h: EL3 sees its PSTATE in SPSR_EL3. */
	m.pe[pe].sysregs[REG_spsr_el3] = CLIENT_PSTATE;
	write_ctx_reg(get_el3state_ctx(&m.pe[pe].ns), CTX_SPSR_EL3, CLIENT_PSTATE);
	if (setjmp(keep.smc_return) != 0) {
		*completed = 1;
		*x0 = 0;
		return 0;
	}
	(void)sdei_smc_handler(fid, x1, x2, x3, x4, NULL, &m.pe[pe].ns, SMC_FROM_NON_SECURE);
	*x0 = read_ctx_reg(get_gpregs_ctx(&m.pe[pe].ns), CTX_GPREG_X0);
	return 0;
}

/* The client context an event interrupts on `pe`: ELR_EL3, SPSR_EL3, x0-x17. */
void sdei_host_set_interrupted(unsigned int pe, uint64_t pc, uint64_t pstate, const uint64_t *x)
{
	cpu_context_t *ctx = &m.pe[pe].ns;
	for (unsigned int i = 0; i < 18; i++)
		write_ctx_reg(get_gpregs_ctx(ctx), CTX_GPREG_X0 + 8 * i, x[i]);
	write_ctx_reg(get_el3state_ctx(ctx), CTX_ELR_EL3, pc);
	write_ctx_reg(get_el3state_ctx(ctx), CTX_SPSR_EL3, pstate);
	m.pe[pe].sysregs[REG_elr_el3] = pc; /* as the exception into EL3 leaves them */
	m.pe[pe].sysregs[REG_spsr_el3] = pstate;
}

/* Where the client on `pe` is now: x0-x17, ELR_EL3, SPSR_EL3, ELR_EL1, SPSR_EL1. */
void sdei_host_context(unsigned int pe, uint64_t *out)
{
	cpu_context_t *ctx = &m.pe[pe].ns;
	for (unsigned int i = 0; i < 18; i++)
		out[i] = read_ctx_reg(get_gpregs_ctx(ctx), CTX_GPREG_X0 + 8 * i);
	out[18] = read_ctx_reg(get_el3state_ctx(ctx), CTX_ELR_EL3);
	out[19] = read_ctx_reg(get_el3state_ctx(ctx), CTX_SPSR_EL3);
	out[20] = m.pe[pe].sysregs[REG_elr_el1];
	out[21] = m.pe[pe].sysregs[REG_spsr_el1];
}

/* Interrupts the GIC could present to `pe` now (EL3's, pending, enabled, routed there, above
 * its running priority), highest priority first; their number. */
int sdei_host_candidates(unsigned int pe, unsigned int *out, int room)
{
	int n = 0;
	unsigned int running = running_priority(pe);
	for (unsigned int priority = 0; priority < 256 && n < room; priority++) {
		for (unsigned int id = 0; id < NIRQ && n < room; id++) {
			const struct irq *it = id < NPRIVATE ? &m.pe[pe].private_irqs[id] : &m.spis[id];
			if (it->priority != priority || it->type != INTR_TYPE_EL3 || !it->pending ||
			    !it->enabled || it->active || priority >= running)
				continue;
			if (id >= NPRIVATE && !it->route_any && it->route != mpidr_of(pe))
				continue;
			out[n++] = id;
		}
	}
	return n;
}

/* Present interrupt `intid` (or, with `explicit_event` >= 0, have EL3 dispatch that explicit
 * event) to `pe`: 1 if a handler was entered, 0 if TF-A turned it away. */
int sdei_host_take(unsigned int pe, unsigned int intid, int explicit_event)
{
	struct pe_state *state = &m.pe[pe];
	m.cur = pe;
	if (setjmp(keep.failure_return) != 0)
		return SDEI_HOST_FAILED;
	unsigned int slot = state->live;
	if (slot >= LEVELS)
		fail("more than %d dispatches on PE%u", LEVELS, pe);
	if (keep.stacks[pe][slot] == NULL) {
		keep.stacks[pe][slot] = malloc(STACK_BYTES);
		if (keep.stacks[pe][slot] == NULL)
			fail("out of memory for a dispatch stack");
	}
	ucontext_t *uc = &state->slot_context[slot];
	getcontext(uc);
	uc->uc_stack.ss_sp = keep.stacks[pe][slot];
	uc->uc_stack.ss_size = STACK_BYTES;
	uc->uc_link = NULL;
	makecontext(uc, run_dispatch, 0);
	m.presented = intid;
	m.take_explicit = explicit_event;
	m.entered = 0;
	swapcontext(&keep.harness, uc);
	return m.entered;
}

/* Does interrupt `intid` belong to EL3 as `pe` sees it? */
int sdei_host_owned(unsigned int pe, unsigned int intid)
{
	if (intid >= NIRQ)
		return 0;
	return irq_on(pe, intid)->type == INTR_TYPE_EL3;
}

void sdei_host_assert_interrupt(unsigned int pe, unsigned int intid)
{
	irq_on(pe, intid)->pending = 1;
}

/* CPU_ON (or a warm boot): the PE's redistributor and registers are set up afresh, then
 * PSCI's on-finish notification runs TF-A's per-PE SDEI set-up. */
int sdei_host_power_on(unsigned int pe)
{
	m.cur = pe;
	if (setjmp(keep.failure_return) != 0)
		return SDEI_HOST_FAILED;
	reset_pe(pe, feat_pan_now);
	(void)__cb_func_sdei_cpu_on_initpsci_cpu_on_finish(NULL);
	return 0;
}

int sdei_host_live(unsigned int pe)
{
	return (int)m.pe[pe].live;
}
