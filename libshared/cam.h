/* cam.h — Grad-CAM maps from a layer's activation and gradient (the
 * engine part that computes them: nn_cam_grad in nn/nn.h).  Pure
 * arithmetic on host arrays; sums in double.
 *
 * For one image with activation A and gradient G = dS/dA (h x w x c,
 * HWC): alpha_c = mean over (i, j) of G_ijc, raw_ij = max(0, sum_c
 * alpha_c A_ijc) at the layer's resolution; the heat map is raw resized
 * bilinearly to the input's size (half-pixel centres, align_corners
 * false, edges replicated: cv2.resize INTER_LINEAR and torch
 * F.interpolate(bilinear, align_corners=False) when enlarging) and then
 * divided by its maximum (an all-zero map stays zero).
 */
#ifndef RADPIPE_CAM_H
#define RADPIPE_CAM_H

#include <stddef.h>

/* raw (h*w) = ReLU(sum_c alpha_c act_c), alpha_c = mean_ij grad_ijc;
 * act and grad are one image's h x w x c (HWC). */
void cam_map(const float *act, const float *grad, int h, int w, int c, float *raw);
/* Bilinear resize (align_corners false, as above) of src (h x w, one
 * channel) to dst (oh x ow). */
void cam_resize(const float *src, int h, int w, float *dst, int oh, int ow);
/* Divides the n values of map by their maximum if it is > 0 (else leaves
 * them; a non-negative map then lies in [0, 1]). */
void cam_normalise(float *map, size_t n);
/* cam_resize then cam_normalise: raw (h x w) to heat (oh x ow) in [0, 1]. */
void cam_heatmap(const float *raw, int h, int w, float *heat, int oh, int ow);

#endif
