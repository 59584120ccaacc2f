# The weighted trend's change and its test, on the two waves stacked: each wave a stratum
# (independent samples), raked to its own margins (wave x variable), as survey computes it.
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE); dir <- args[1]
people <- read.csv(file.path(dir, "people.csv"), colClasses = "character")
people$weight <- as.numeric(people$weight)
targets <- read.csv(file.path(dir, "targets.csv"), colClasses = c("character", "character", "numeric"))
units <- read.csv(file.path(dir, "units.csv"))
variables <- unique(targets$variable)
design <- svydesign(ids = ~1, strata = ~wave, weights = ~weight, data = people)
population <- lapply(variables, function(v) {
  t <- targets[targets$variable == v, ]
  frame <- data.frame(t$category, t$total, stringsAsFactors = FALSE); names(frame) <- c(v, "Freq"); frame
})
raked <- rake(design, lapply(variables, function(v) as.formula(paste("~", v))), population, control = list(maxit = 1000, epsilon = 1e-13))
rows <- lapply(unique(units$cell), function(id) {
  u <- units[units$cell == id, ]
  y <- d <- r <- numeric(nrow(people))
  y[u$unit + 1] <- u$y; d[u$unit + 1] <- u$now; r[u$unit + 1] <- u$before
  des <- update(raked, yd = y * d, d = d, yr = y * r, r = r)
  con <- svycontrast(svytotal(~yd + d + yr + r, des), quote(yd / d - yr / r))
  z <- coef(con)[[1]] / SE(con)[[1]]
  data.frame(cell = id, r_change = 100 * coef(con)[[1]], r_p = 2 * pnorm(-abs(z)))
})
write.csv(do.call(rbind, rows), file.path(dir, "r.csv"), row.names = FALSE)
