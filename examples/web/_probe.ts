/// <reference lib="dom" />
import uPlot from "uplot";
const el: HTMLElement | null = document.getElementById("x");
console.log(el, uPlot, navigator.gpu);
