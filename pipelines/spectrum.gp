# The spectrum in the complex plane, with the stability boundary right for
# the operator (cords-eig(1), STABILITY):
#   conv:              the circle |lambda - (1 - 1/alpha)| = 1/alpha (discrete
#                      step of the linear model) and the line Re = 1 (continuous time)
#   jacobian, network: the unit circle (discrete step) and the line Re = 1
# gnuplot -e "data='x.tsv'; out='x.png'; op='conv'; alpha=0.2" pipelines/spectrum.gp
if (!exists("alpha")) alpha = 0.2
if (!exists("op")) op = 'conv'
set terminal pngcairo size 900,900 font ",11"
set output out
stats data using (sqrt($1**2 + $2**2)) nooutput
m = STATS_max > 1 ? STATS_max : 1
L = 1.15 * m
set xrange [-L:L]
set yrange [-L:L]
set size ratio -1
set grid
set xlabel "Re"
set ylabel "Im"
set parametric
set trange [0:2*pi]
set samples 400
c = op eq 'conv' ? 1 - 1/alpha : 0
R = op eq 'conv' ? 1/alpha : 1
set arrow 1 from 1, graph 0 to 1, graph 1 nohead dt 2 lc rgb "#c03030"
set label 1 "Re = 1: continuous time" at 1, graph 0.03 right offset -0.5, 0 tc rgb "#c03030"
set key top left opaque box
set title sprintf("cords-eig: %s spectrum (%d eigenvalues, spectral radius %.4g)", op, STATS_records, STATS_max)
bound = op eq 'conv' ? sprintf("|λ - (1 - 1/α)| = 1/α, α = %g: discrete step", alpha) : "|μ| = 1: discrete step"
plot c + R*cos(t), R*sin(t) title bound lc rgb "#3060c0" lw 1.5, \
     data using 1:2 with points pt 7 ps 0.6 lc rgb "black" title "eigenvalues"
