// Hugging Face formats out of Atelier's GGUFs (see hf-export.ts).
export { exportHfMerged, exportHfModel, exportPeftAdapter, type HfDtype } from "./hf-export";
