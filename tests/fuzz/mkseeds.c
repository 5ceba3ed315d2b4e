/* mkseeds.c — writes the seed corpora of fuzz_model and fuzz_h5keras:
 *   tests/fuzz/corpus/fuzz_model/    small_cnn 8x8x1 model files (with and
 *                                    without optimizer state and train state)
 *   tests/fuzz/corpus/fuzz_h5keras/  tiny Keras-layout HDF5 weight files
 *                                    (fixed and variable-length names, a
 *                                    whole-model file, float64 weights)
 * The seeds are committed; run `make fuzz-seeds` only when they change.
 * Usage: mkseeds DIR (the corpus folder, holding fuzz_model/ and fuzz_h5keras/).
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame_mp.h"
#include "nn/nn.h"
#include "nn/modelfile/modelio.h"

static void
model_seeds(const char *dir)
{
	static char *const names[] = { "chest", "abdomen" };
	struct nn_head h = { .dense_units = 0, .dropout = 0.5f, .classes = 2 };
	struct nn_model *m = nn_small_cnn(8, 8, 1, &h);
	struct nn_model_info info;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	msgpack_object ts;
	size_t off = 0;
	char path[4096], err[1024];

	if (m == NULL)
		die("small_cnn: cannot build");
	nn_model_init_params(m, 1);
	memset(&info, 0, sizeof info);
	snprintf(info.arch, sizeof info.arch, "small_cnn");
	info.input[0] = info.input[1] = 8;
	info.input[2] = 1;
	info.head = h;
	snprintf(info.preprocess, sizeof info.preprocess, "rescale");
	nn_model_info_set_classes(&info, names, 2);
	info.optim = (struct nn_optim){ .type = NN_ADAM, .lr = 1e-4f, .beta1 = 0.9f,
	                                .beta2 = 0.999f, .eps = 1e-7f };
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "epoch", 5);
	msgpack_pack_int(&pk, 3);
	msgpack_pack_str_with_body(&pk, "rng", 3);
	msgpack_pack_bin_with_body(&pk, "0123456789abcdef", 16);
	msgpack_zone_init(&z, 1024);
	if (msgpack_unpack(sb.data, sb.size, &off, &z, &ts) != MSGPACK_UNPACK_SUCCESS)
		die("train state: cannot unpack");
	snprintf(path, sizeof path, "%s/fuzz_model/plain.mpk", dir);
	if (nn_model_save(path, m, &info, 0, NULL, err, sizeof err) < 0)
		die("%s", err);
	nn_set_step_count(m, 7);
	snprintf(path, sizeof path, "%s/fuzz_model/adam_state.mpk", dir);
	if (nn_model_save(path, m, &info, 1, mp_fv(&ts), err, sizeof err) < 0)
		die("%s", err);
	info.optim = (struct nn_optim){ .type = NN_SGD, .lr = 1e-2f, .momentum = 0.9f };
	snprintf(path, sizeof path, "%s/fuzz_model/sgd.mpk", dir);
	if (nn_model_save(path, m, &info, 1, NULL, err, sizeof err) < 0)
		die("%s", err);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
	nn_model_info_free(&info);
	nn_model_free(m);
}

/* Attribute name on obj: n strings, fixed-length (vlen 0) or variable. */
static void
str_attr(hid_t obj, const char *name, const char *const *s, int n, int vlen)
{
	hsize_t dim = (hsize_t)n;
	hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &dim, NULL), a;
	size_t w = 1;
	char *buf;

	if (vlen) {
		H5Tset_size(t, H5T_VARIABLE);
		a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
		H5Awrite(a, t, s);
	} else {
		for (int i = 0; i < n; i++)
			if (strlen(s[i]) > w)
				w = strlen(s[i]);
		buf = xcalloc(n > 0 ? (size_t)n : 1, w);
		for (int i = 0; i < n; i++)
			memcpy(buf + (size_t)i * w, s[i], strlen(s[i]));
		H5Tset_size(t, w);
		a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
		H5Awrite(a, t, buf);
		free(buf);
	}
	H5Aclose(a);
	H5Sclose(sp);
	H5Tclose(t);
}

static void
dataset(hid_t g, const char *name, hid_t type, int rank, const hsize_t *dims)
{
	hid_t lc = H5Pcreate(H5P_LINK_CREATE), sp = H5Screate_simple(rank, dims, NULL), d;
	double v[64];

	for (int i = 0; i < 64; i++)
		v[i] = i * 0.25 - 3;
	H5Pset_create_intermediate_group(lc, 1);
	d = H5Dcreate2(g, name, type, sp, lc, H5P_DEFAULT, H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
	H5Dclose(d);
	H5Sclose(sp);
	H5Pclose(lc);
}

/* A Keras weights file: conv2d_1 (kernel 3x3x1x2, bias 2), activation_1
 * (no weights), dense_1 (kernel 2x3 stored as type, bias 3). */
static void
h5_seed(const char *path, int vlen, int whole_model, hid_t type)
{
	static const char *const layers[] = { "conv2d_1", "activation_1", "dense_1" };
	static const char *const conv[] = { "conv2d_1/kernel:0", "conv2d_1/bias:0" };
	static const char *const dense[] = { "dense_1/kernel:0", "dense_1/bias:0" };
	static const char *const ver[] = { "2.1.6" }, *const be[] = { "tensorflow" };
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), root, g;
	hsize_t k4[4] = { 3, 3, 1, 2 }, b2[1] = { 2 }, k2[2] = { 2, 3 }, b3[1] = { 3 };

	if (f < 0)
		die("%s: cannot create", path);
	root = whole_model ? H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) :
	    H5Gopen2(f, "/", H5P_DEFAULT);
	str_attr(root, "layer_names", layers, 3, vlen);
	str_attr(root, "keras_version", ver, 1, vlen);
	str_attr(root, "backend", be, 1, vlen);
	g = H5Gcreate2(root, "conv2d_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	str_attr(g, "weight_names", conv, 2, vlen);
	dataset(g, conv[0], H5T_IEEE_F32LE, 4, k4);
	dataset(g, conv[1], H5T_IEEE_F32LE, 1, b2);
	H5Gclose(g);
	g = H5Gcreate2(root, "activation_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	str_attr(g, "weight_names", NULL, 0, vlen);
	H5Gclose(g);
	g = H5Gcreate2(root, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	str_attr(g, "weight_names", dense, 2, vlen);
	dataset(g, dense[0], type, 2, k2);
	dataset(g, dense[1], type, 1, b3);
	H5Gclose(g);
	H5Gclose(root);
	H5Fclose(f);
}

int
main(int argc, char **argv)
{
	char path[4096];

	err_init(argv[0]);
	if (argc != 2)
		die_usage("usage: mkseeds DIR");
	model_seeds(argv[1]);
	snprintf(path, sizeof path, "%s/fuzz_h5keras/fixed.h5", argv[1]);
	h5_seed(path, 0, 0, H5T_IEEE_F32LE);
	snprintf(path, sizeof path, "%s/fuzz_h5keras/vlen_model.h5", argv[1]);
	h5_seed(path, 1, 1, H5T_IEEE_F32LE);
	snprintf(path, sizeof path, "%s/fuzz_h5keras/f64.h5", argv[1]);
	h5_seed(path, 0, 0, H5T_IEEE_F64BE);
	return 0;
}
