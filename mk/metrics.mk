# metrics and plot (issue 7): statistics in libshared/stats.c, gnuplot
# driving in libshared/gnuplot.c, montage composition in libshared/montage.c.
# Both programs need only libshared and libm; plot runs gnuplot(1) at run
# time (Debian package gnuplot-nox, which has the pngcairo, pdfcairo, svg
# and dumb terminals).
LDLIBS_metrics :=
LDLIBS_plot    :=
