/* bf16 as kernels/cuda_conv.cu uses it (emulated, test/cuda_emu/emu.cc):
 * storage, and conversions that round to nearest even as CUDA's do. */
#ifndef CORDS_CUDA_EMU_BF16_H
#define CORDS_CUDA_EMU_BF16_H
#include <cstdint>

struct __nv_bfloat16 {
	uint16_t bits;
};
__nv_bfloat16 __float2bfloat16(float f);
float __bfloat162float(__nv_bfloat16 h);
#endif
