/* Host build of TF-A's SDEI dispatcher: the simulated platform's constants. The PE count and
 * the SDEI priorities come from the compiler command line (sdei.conform.tfa). */
#ifndef SDEI_HOST_PLATFORM_DEF_H
#define SDEI_HOST_PLATFORM_DEF_H
#define PLATFORM_STACK_SIZE 0x1000
#define PLAT_MAX_PWR_LVL 1
#define PLAT_NUM_PWR_DOMAINS (PLATFORM_CORE_COUNT + 1)
#define PLAT_MAX_OFF_STATE 2
#define PLAT_MAX_RET_STATE 1
#define CACHE_WRITEBACK_GRANULE 64
#define PLAT_PHY_ADDR_SPACE_SIZE (1ULL << 32)
#define PLAT_VIRT_ADDR_SPACE_SIZE (1ULL << 32)
#define MAX_XLAT_TABLES 4
#define MAX_MMAP_REGIONS 8
#endif
