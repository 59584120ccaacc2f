suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE); dir <- args[1]; level <- as.numeric(args[2])
people <- read.csv(file.path(dir, "people.csv"), colClasses = "character")
people$weight <- as.numeric(people$weight)
targets <- read.csv(file.path(dir, "targets.csv"), colClasses = c("character", "character", "numeric"))
units <- read.csv(file.path(dir, "units.csv"))
variables <- unique(targets$variable)
design <- svydesign(ids = ~1, weights = ~weight, data = people)
population <- lapply(variables, function(v) {
  t <- targets[targets$variable == v, ]
  frame <- data.frame(t$category, t$share * nrow(people), stringsAsFactors = FALSE); names(frame) <- c(v, "Freq"); frame
})
raked <- rake(design, lapply(variables, function(v) as.formula(paste("~", v))), population, control = list(maxit = 1000, epsilon = 1e-13))
start <- Sys.time()
ids <- unique(units$cell)
rows <- lapply(ids, function(id) {
  u <- units[units$cell == id, ]
  y <- d <- r <- numeric(nrow(people))
  y[u$unit + 1] <- u$y; d[u$unit + 1] <- u$in_domain; r[u$unit + 1] <- u$in_rest
  des <- update(raked, y = y, d = d, b = d + r, g = factor(d + 2 * r))
  ci <- svyciprop(~y, subset(des, d == 1), method = "logit", level = level)
  p <- NA_real_
  if (sum(r) > 0) {
    des <- update(des, yd = y * d, yr = y * r)
    totals <- svytotal(~yd + d + yr + r, des)
    con <- svycontrast(totals, quote(yd / d - yr / r))
    p <- 2 * pnorm(-abs(coef(con)[[1]] / SE(con)[[1]]))
  }
  data.frame(cell = id, r_pct = 100 * coef(ci)[[1]], r_low = 100 * attr(ci, "ci")[[1]], r_high = 100 * attr(ci, "ci")[[2]], r_p = p)
})
write.csv(do.call(rbind, rows), file.path(dir, "r.csv"), row.names = FALSE)
cat("seconds", as.numeric(Sys.time() - start, units = "secs"), "\n")
